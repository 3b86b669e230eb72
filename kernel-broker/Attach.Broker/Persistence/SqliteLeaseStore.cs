using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Attach.Broker.Persistence;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, one connection kept open, every write its own transaction.
/// Writes run under the caller's lock (the lease table's), which is acceptable here: a WAL commit without a
/// checkpoint is an append to one file, tens of microseconds, and the lock already serialises placement.
/// <c>synchronous=NORMAL</c> keeps every commit across a killed process; a power cut may lose the last few, which
/// the agents' ledgers then restore through reconciliation.
/// </summary>
internal sealed class SqliteLeaseStore : SqlLeaseStore, IDisposable
{
    private readonly Lock _lock = new();
    private readonly SqliteConnection _connection;

    private SqliteLeaseStore(SqliteConnection connection, string path)
        : base($"SQLite {path}")
    {
        _connection = connection;
    }

    /// <summary>Opens (creating it and its folder when missing) and migrates the database at <paramref name="path"/>.</summary>
    public static SqliteLeaseStore Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        path = Path.GetFullPath(path);
        if (Path.GetDirectoryName(path) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }

        // No pooling: the file is closed when the store is disposed, and nothing else shares the connection.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        try
        {
            connection.Open();
            foreach (var pragma in (string[])["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA busy_timeout = 5000"])
            {
                using var command = connection.CreateCommand();
                command.CommandText = pragma;
                command.ExecuteNonQuery();
            }

            var store = new SqliteLeaseStore(connection, path);
            store.OpenedAtVersion = StoreMigrations.Apply(connection, SqliteDialect.Instance, store.Description);
            return store;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _connection.Dispose();
        }
    }

    protected override T Use<T>(Func<DbConnection, T> work)
    {
        lock (_lock)
        {
            return work(_connection);
        }
    }
}
