using Attach.Broker.Persistence;
using Microsoft.Data.Sqlite;

namespace Attach.Broker.Tests.Persistence;

public sealed class SqliteMigrationsTests : IDisposable
{
    private readonly TempDatabase _db = new();

    public void Dispose() => _db.Dispose();

    [Fact]
    public void Open_NewFile_CreatesItsFolderAndEveryVersionOnce()
    {
        using (var store = SqliteLeaseStore.Open(_db.Path))
        {
            Assert.Equal(0, store.OpenedAtVersion);
            Assert.Equal(0, store.Load().Epoch);
        }

        using (var again = SqliteLeaseStore.Open(_db.Path))
        {
            Assert.Equal(SqliteMigrations.Latest, again.OpenedAtVersion);
        }

        Assert.Equal(Enumerable.Range(1, SqliteMigrations.Latest).Select(v => (long)v), Versions());
    }

    [Fact]
    public void Open_DatabaseFromANewerBroker_RefusesWithAClearMessage()
    {
        SqliteLeaseStore.Open(_db.Path).Dispose();
        Execute($"INSERT INTO schema_version (version, applied_at) VALUES ({SqliteMigrations.Latest + 1}, 'later')");

        var refused = Assert.Throws<InvalidOperationException>(() => SqliteLeaseStore.Open(_db.Path));

        Assert.Contains($"schema version {SqliteMigrations.Latest + 1}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("a newer broker wrote it", refused.Message, StringComparison.Ordinal);
        Assert.Contains(_db.Path, refused.Message, StringComparison.Ordinal);
    }

    private List<long> Versions()
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version FROM schema_version ORDER BY version";
        using var reader = command.ExecuteReader();
        var versions = new List<long>();
        while (reader.Read())
        {
            versions.Add(reader.GetInt64(0));
        }

        return versions;
    }

    private void Execute(string sql)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection($"Data Source={_db.Path};Pooling=False");
        connection.Open();
        return connection;
    }
}
