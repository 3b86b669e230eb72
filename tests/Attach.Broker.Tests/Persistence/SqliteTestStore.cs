using System.Data.Common;
using Attach.Broker.Persistence;
using Microsoft.Data.Sqlite;

namespace Attach.Broker.Tests.Persistence;

/// <summary>A SQLite file in a folder of its own; the stores of killed brokers keep their connections open.</summary>
internal sealed class SqliteTestStore : TestStore
{
    private readonly TempDatabase _db = new();

    public string Path => _db.Path;

    public override IReadOnlyList<(string Key, string Value)> Settings => [("Broker:Store:Kind", "sqlite"), ("Broker:Store:Path", _db.Path)];

    public override DbConnection Connect()
    {
        var connection = new SqliteConnection($"Data Source={_db.Path};Pooling=False");
        connection.Open();
        return connection;
    }

    protected override SqlLeaseStore OpenStore() => SqliteLeaseStore.Open(_db.Path);

    protected override void DropDatabase() => _db.Dispose();
}
