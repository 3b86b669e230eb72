using System.Data.Common;
using System.Globalization;

namespace Attach.Broker.Persistence;

/// <summary>
/// The schema, as one ordered list of migrations that every store runs: migration <c>n</c> (from 1) takes the
/// database to version <c>n</c>. Each is written once, with the few type names that differ taken from the
/// <see cref="SqlDialect"/>, so SQLite and PostgreSQL always hold the same tables and columns. Migrations are only
/// ever appended, never edited: a database records in <c>schema_version</c> which ones it has.
/// </summary>
internal static class StoreMigrations
{
    public static readonly IReadOnlyList<Func<SqlDialect, string>> Scripts =
    [
        // 1: leases, the epoch counter (fencing: epochs never go back, even when every lease is gone) and kernel owners.
        // Rendered for SQLite this is, type for type, the script the first SQLite-only broker applied.
        d => $"""
        CREATE TABLE leases (
            lease_id TEXT NOT NULL PRIMARY KEY,
            epoch {d.BigInt} NOT NULL,
            kernel_id TEXT NOT NULL,
            owner TEXT NOT NULL,
            node_id TEXT NOT NULL,
            agent_url TEXT NOT NULL,
            gpu_index INTEGER NOT NULL,
            gpu_uuid TEXT NOT NULL,
            gpu_model TEXT NOT NULL,
            gpu_memory_total_mib {d.BigInt} NOT NULL,
            gpu_simulated INTEGER NOT NULL,
            memory_mib {d.BigInt} NOT NULL,
            compute_percent INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('Binding', 'Bound', 'Releasing')),
            since TEXT NOT NULL
        );
        CREATE INDEX leases_by_node ON leases (node_id);
        CREATE TABLE epoch_counter (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            value {d.BigInt} NOT NULL
        );
        INSERT INTO epoch_counter (id, value) VALUES (1, 0);
        CREATE TABLE kernels (
            kernel_id TEXT NOT NULL PRIMARY KEY,
            owner TEXT NOT NULL
        );
        """,

        // 2: who leads, for brokers sharing one PostgreSQL (Leadership/). The row is written by the broker that holds the
        // leader lock, each time it takes it: term goes up by one per takeover, so logs and followers can tell leaders
        // apart. SQLite gets the table too (one schema), and never writes it: a SQLite broker is alone.
        d => $"""
        CREATE TABLE broker_leader (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            term {d.BigInt} NOT NULL,
            broker_id TEXT NOT NULL,
            broker_url TEXT,
            since TEXT NOT NULL
        );
        """,

        // 3: the slice each kernel's owner chose for its next attach (PUT …/slice-preference): a profile name or a
        // size in MiB, or neither (the default). Kept with the kernel's row, so forgetting a kernel forgets it too.
        d => $"""
        ALTER TABLE kernels ADD COLUMN slice_profile TEXT;
        ALTER TABLE kernels ADD COLUMN slice_memory_mib {d.BigInt};
        """,

        // 4: the kernels the broker suspended to host memory, so a restarted broker keeps them Suspended and resumes them where their process lives.
        d => $"""
        CREATE TABLE suspended_kernels (
            kernel_id TEXT NOT NULL PRIMARY KEY,
            node_id TEXT NOT NULL,
            gpu_index INTEGER NOT NULL,
            gpu_name TEXT NOT NULL,
            pid INTEGER NOT NULL,
            bytes {d.BigInt},
            slice_memory_mib {d.BigInt} NOT NULL,
            suspended_at TEXT NOT NULL
        );
        """,

        // 5: the MIG instance a lease is (its MIG-… UUID), on a GPU in MIG mode; NULL for a slice of a whole GPU.
        _ => """
        ALTER TABLE leases ADD COLUMN mig_uuid TEXT;
        """,
    ];

    /// <summary>The version this broker writes.</summary>
    public static int Latest => Scripts.Count;

    /// <summary>
    /// Brings the database to <see cref="Latest"/> in one transaction; running it again changes nothing.
    /// Refuses a database a newer broker wrote, rather than guess at a schema it does not know.
    /// </summary>
    /// <param name="connection">An open connection to the database.</param>
    /// <param name="dialect">The database's dialect.</param>
    /// <param name="description">The store as logs name it (never with a password).</param>
    /// <returns>The version the database had before.</returns>
    public static int Apply(DbConnection connection, SqlDialect dialect, string description)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(dialect);
        using var transaction = dialect.BeginMigration(connection);
        Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL)");
        using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        var current = Convert.ToInt32(read.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (current > Latest)
        {
            throw new InvalidOperationException(
                $"The broker's store {description} has schema version {current}, but this broker knows versions up to {Latest}: " +
                $"a newer broker wrote it. Run that broker version, or point {dialect.LocationSetting} elsewhere.");
        }

        for (var version = current + 1; version <= Latest; version++)
        {
            Execute(connection, transaction, Scripts[version - 1](dialect));
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = $"INSERT INTO schema_version (version, applied_at) VALUES (@version, {dialect.UtcNowText})";
            SqlLeaseStore.AddParameter(record, "@version", version);
            record.ExecuteNonQuery();
        }

        transaction.Commit();
        return current;
    }

    private static void Execute(DbConnection connection, DbTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
