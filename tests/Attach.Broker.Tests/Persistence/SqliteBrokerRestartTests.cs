namespace Attach.Broker.Tests.Persistence;

/// <summary><see cref="BrokerRestartTests"/> over a SQLite file.</summary>
public sealed class SqliteBrokerRestartTests() : BrokerRestartTests(new SqliteTestStore());
