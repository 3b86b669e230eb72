namespace Attach.Broker.Tests.Persistence;

/// <summary><see cref="RandomizedRestartTests"/> over a SQLite file.</summary>
public sealed class SqliteRandomizedRestartTests() : RandomizedRestartTests(new SqliteTestStore());
