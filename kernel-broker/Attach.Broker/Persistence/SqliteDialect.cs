using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Attach.Broker.Persistence;

/// <summary>SQLite: one integer type, time from <c>strftime</c>, and an immediate transaction as the migration lock.</summary>
internal sealed class SqliteDialect : SqlDialect
{
    public static readonly SqliteDialect Instance = new();

    private SqliteDialect()
    {
    }

    public override string Name => "SQLite";

    public override string LocationSetting => "Broker:Store:Path";

    public override string BigInt => "INTEGER";

    public override string UtcNowText => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

    // IMMEDIATE takes the file's write lock at once: a second broker on the same file waits here instead of migrating too.
    public override DbTransaction BeginMigration(DbConnection connection) => ((SqliteConnection)connection).BeginTransaction(deferred: false);
}
