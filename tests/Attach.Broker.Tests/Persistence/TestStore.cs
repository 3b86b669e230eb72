using System.Data.Common;
using Attach.Broker.Persistence;

namespace Attach.Broker.Tests.Persistence;

/// <summary>
/// A database of one kind, fresh for one test, and the brokers' stores opened over it. Store tests are written once
/// against this class and run for every kind (a concrete test class per store).
/// </summary>
internal abstract class TestStore : IDisposable
{
    private readonly List<IDisposable> _opened = [];

    /// <summary>The settings that point a broker host at this database.</summary>
    public abstract IReadOnlyList<(string Key, string Value)> Settings { get; }

    /// <summary>
    /// The store a newly started broker opens over the same database. The stores opened before are left as a
    /// killed broker leaves them: never flushed, never told to close.
    /// </summary>
    public SqlLeaseStore Open()
    {
        BeforeOpen(_opened);
        var store = OpenStore();
        _opened.Add((IDisposable)store);
        return store;
    }

    /// <summary>A connection of the test's own to the database, for SQL a broker would not run.</summary>
    public abstract DbConnection Connect();

    /// <summary>Runs one statement on a connection of the test's own.</summary>
    public void Execute(string sql)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Reads one column of a query's rows.</summary>
    public List<T> Query<T>(string sql, Func<DbDataReader, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    public void Dispose()
    {
        foreach (var store in _opened)
        {
            store.Dispose();
        }

        DropDatabase();
    }

    protected abstract SqlLeaseStore OpenStore();

    /// <summary>What a kill does to the stores opened so far, beyond abandoning them.</summary>
    protected virtual void BeforeOpen(List<IDisposable> opened)
    {
    }

    protected abstract void DropDatabase();
}
