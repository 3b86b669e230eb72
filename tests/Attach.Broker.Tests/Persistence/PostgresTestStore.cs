using System.Data.Common;
using Attach.Broker.Persistence;
using Npgsql;

namespace Attach.Broker.Tests.Persistence;

/// <summary>
/// A schema of its own in the test PostgreSQL (<see cref="TestPostgres"/>), dropped with everything in it when the
/// test ends; the stores see only it (<c>Search Path</c>).
/// </summary>
internal sealed class PostgresTestStore : TestStore
{
    private readonly string _server = TestPostgres.Require();

    public PostgresTestStore()
    {
        Schema = $"test_{Guid.NewGuid():N}";
        ConnectionString = new NpgsqlConnectionStringBuilder(_server) { SearchPath = Schema }.ConnectionString;
        Execute($"CREATE SCHEMA {Schema}");
    }

    public string Schema { get; }

    /// <summary>What a broker's <c>Broker:Store:ConnectionString</c> would be.</summary>
    public string ConnectionString { get; }

    public override IReadOnlyList<(string Key, string Value)> Settings => [("Broker:Store:Kind", "postgres"), ("Broker:Store:ConnectionString", ConnectionString)];

    public override DbConnection Connect()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        return connection;
    }

    protected override SqlLeaseStore OpenStore() => PostgresLeaseStore.Open(ConnectionString);

    /// <summary>
    /// A killed broker's sockets close with its process, and the server forgets its sessions: here, its pool is closed.
    /// Nothing is lost by that (every write committed before it returned), and a long run of restarts does not
    /// exhaust the server's connections.
    /// </summary>
    protected override void BeforeOpen(List<IDisposable> opened)
    {
        foreach (var store in opened)
        {
            store.Dispose();
        }

        opened.Clear();
    }

    protected override void DropDatabase()
    {
        using var connection = new NpgsqlConnection(_server);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"DROP SCHEMA IF EXISTS {Schema} CASCADE";
        command.ExecuteNonQuery();
    }
}
