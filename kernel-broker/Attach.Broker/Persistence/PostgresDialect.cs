using System.Data.Common;

namespace Attach.Broker.Persistence;

/// <summary>PostgreSQL: <c>bigint</c> for 64-bit columns, and a transaction-scoped advisory lock as the migration lock.</summary>
internal sealed class PostgresDialect : SqlDialect
{
    public static readonly PostgresDialect Instance = new();

    /// <summary>The advisory lock key brokers take while they migrate ("attach" in ASCII); released at commit.</summary>
    private const long MigrationLockKey = 0x61_74_74_61_63_68;

    private PostgresDialect()
    {
    }

    public override string Name => "PostgreSQL";

    public override string LocationSetting => "Broker:Store:ConnectionString";

    public override string BigInt => "BIGINT";

    public override string UtcNowText => "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

    public override DbTransaction BeginMigration(DbConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var transaction = connection.BeginTransaction();
        try
        {
            // Without it two brokers starting together could both see version 0 and both create the tables.
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"SELECT pg_advisory_xact_lock({MigrationLockKey})";
            command.ExecuteNonQuery();
            return transaction;
        }
        catch
        {
            transaction.Dispose();
            throw;
        }
    }
}
