namespace Attach.Broker.Tests.Persistence;

/// <summary><see cref="PersistentBrokerAppTests"/> over a SQLite file.</summary>
public sealed class SqlitePersistentBrokerAppTests() : PersistentBrokerAppTests(new SqliteTestStore());
