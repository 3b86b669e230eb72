namespace Attach.Broker.Tests.Persistence;

/// <summary><see cref="RandomizedRestartTests"/> over a real PostgreSQL (a schema of its own per test).</summary>
[RequiresPostgres]
public sealed class PostgresRandomizedRestartTests() : RandomizedRestartTests(new PostgresTestStore());
