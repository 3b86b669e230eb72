using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Attach.Broker.Persistence;

/// <summary>
/// The schema, as an ordered list of scripts: script <c>n</c> (from 1) takes the database to version <c>n</c>.
/// Scripts are only ever appended, never edited: a database records in <c>schema_version</c> which ones it has.
/// </summary>
internal static class SqliteMigrations
{
    public static readonly IReadOnlyList<string> Scripts =
    [
        // 1: leases, the epoch counter (fencing: epochs never go back, even when every lease is gone) and kernel owners.
        """
        CREATE TABLE leases (
            lease_id TEXT NOT NULL PRIMARY KEY,
            epoch INTEGER NOT NULL,
            kernel_id TEXT NOT NULL,
            owner TEXT NOT NULL,
            node_id TEXT NOT NULL,
            agent_url TEXT NOT NULL,
            gpu_index INTEGER NOT NULL,
            gpu_uuid TEXT NOT NULL,
            gpu_model TEXT NOT NULL,
            gpu_memory_total_mib INTEGER NOT NULL,
            gpu_simulated INTEGER NOT NULL,
            memory_mib INTEGER NOT NULL,
            compute_percent INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('Binding', 'Bound', 'Releasing')),
            since TEXT NOT NULL
        );
        CREATE INDEX leases_by_node ON leases (node_id);
        CREATE TABLE epoch_counter (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            value INTEGER NOT NULL
        );
        INSERT INTO epoch_counter (id, value) VALUES (1, 0);
        CREATE TABLE kernels (
            kernel_id TEXT NOT NULL PRIMARY KEY,
            owner TEXT NOT NULL
        );
        """,
    ];

    /// <summary>The version this broker writes.</summary>
    public static int Latest => Scripts.Count;

    /// <summary>
    /// Brings the database to <see cref="Latest"/> in one transaction; running it again changes nothing.
    /// Refuses a database a newer broker wrote, rather than guess at a schema it does not know.
    /// </summary>
    /// <returns>The version the database had before.</returns>
    public static int Apply(SqliteConnection connection, string description)
    {
        ArgumentNullException.ThrowIfNull(connection);
        // IMMEDIATE: a second broker on the same file waits here instead of migrating at the same time.
        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL)");
        using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        var current = Convert.ToInt32(read.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (current > Latest)
        {
            throw new InvalidOperationException(
                $"The broker's store {description} has schema version {current}, but this broker knows versions up to {Latest}: " +
                "a newer broker wrote it. Run that broker version, or point Broker:Store:Path at another file.");
        }

        for (var version = current + 1; version <= Latest; version++)
        {
            Execute(connection, transaction, Scripts[version - 1]);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, applied_at) VALUES ($version, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))";
            record.Parameters.AddWithValue("$version", version);
            record.ExecuteNonQuery();
        }

        transaction.Commit();
        return current;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
