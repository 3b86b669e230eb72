namespace Attach.Broker.Tests.Persistence;

/// <summary><see cref="PersistentBrokerAppTests"/> over a real PostgreSQL (a schema of its own per test).</summary>
[RequiresPostgres]
public sealed class PostgresPersistentBrokerAppTests() : PersistentBrokerAppTests(new PostgresTestStore());
