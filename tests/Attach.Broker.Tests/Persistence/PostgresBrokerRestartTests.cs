namespace Attach.Broker.Tests.Persistence;

/// <summary><see cref="BrokerRestartTests"/> over a real PostgreSQL (a schema of its own per test).</summary>
[RequiresPostgres]
public sealed class PostgresBrokerRestartTests() : BrokerRestartTests(new PostgresTestStore());
