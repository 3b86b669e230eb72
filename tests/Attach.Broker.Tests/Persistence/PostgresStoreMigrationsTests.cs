using Attach.Broker.Persistence;
using Npgsql;

namespace Attach.Broker.Tests.Persistence;

/// <summary><see cref="StoreMigrationsTests"/> over a real PostgreSQL, and what only a server has.</summary>
[RequiresPostgres]
public sealed class PostgresStoreMigrationsTests : StoreMigrationsTests
{
    private readonly PostgresTestStore _db;

    public PostgresStoreMigrationsTests()
        : this(new PostgresTestStore())
    {
    }

    private PostgresStoreMigrationsTests(PostgresTestStore db)
        : base(db)
    {
        _db = db;
    }

    [StoreFact]
    public void Schema_HasTheSameTablesAndColumnsAsSqlite()
    {
        _db.Open();
        using var sqlite = new SqliteTestStore();
        sqlite.Open();

        var inPostgres = _db.Query(
            $"SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = '{_db.Schema}' ORDER BY table_name, ordinal_position",
            r => r.GetString(0));
        var inSqlite = sqlite.Query(
            "SELECT m.name || '.' || c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' ORDER BY m.name, c.cid",
            r => r.GetString(0));

        Assert.Equal(inSqlite, inPostgres);
        Assert.Contains("leases.lease_id", inPostgres);
    }

    [StoreFact]
    public void Schema_KeepsSixtyFourBitValuesWhereTheBrokerHasThem()
    {
        var store = _db.Open();
        var huge = new Broker.Pool.Lease
        {
            LeaseId = "lease-huge",
            Epoch = long.MaxValue - 1,
            KernelId = "kernel-1",
            Owner = "ada",
            NodeId = "node-a",
            AgentUrl = new Uri("http://node-a:7070/"),
            Gpu = new Contracts.Pool.GpuInfo(3, "GPU-1", "B200", 4L * 1024 * 1024 * 1024, Simulated: false),
            MemoryMiB = 3L * 1024 * 1024 * 1024,
            ComputePercent = 100,
            Since = new DateTimeOffset(2026, 11, 28, 17, 0, 0, TimeSpan.FromHours(1)),
            Status = Broker.Pool.LeaseStatus.Binding,
        };

        store.AddLease(huge);
        var state = _db.Open().Load();

        var read = Assert.Single(state.Leases);
        Assert.Equal((huge.Epoch, huge.Gpu, huge.MemoryMiB, huge.Since, huge.Status), (read.Epoch, read.Gpu, read.MemoryMiB, read.Since, read.Status));
        Assert.Equal(huge.Epoch, state.Epoch);
    }

    [StoreFact]
    public async Task Open_TwoBrokersStartingTogetherOnANewDatabase_MigrateItOnce()
    {
        using var start = new Barrier(2);
        var open = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(30));
            return PostgresLeaseStore.Open(_db.ConnectionString);
        })).ToList();

        var stores = await Task.WhenAll(open);
        try
        {
            Assert.Equal([0, StoreMigrations.Latest], stores.Select(s => s.OpenedAtVersion).Order());
            Assert.Equal(Enumerable.Range(1, StoreMigrations.Latest).Select(v => (long)v), _db.Query("SELECT version FROM schema_version ORDER BY version", r => Convert.ToInt64(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)));
        }
        finally
        {
            foreach (var store in stores)
            {
                store.Dispose();
            }
        }
    }

    [StoreFact]
    public void Open_WrongPassword_FailsNamingTheSettingWithoutThePassword()
    {
        const string password = "wrong-password-never-shown";
        var connectionString = new NpgsqlConnectionStringBuilder(_db.ConnectionString) { Password = password }.ConnectionString;

        var refused = Assert.Throws<InvalidOperationException>(() => PostgresLeaseStore.Open(connectionString));

        Assert.Contains("Broker:Store:ConnectionString", refused.Message, StringComparison.Ordinal);
        Assert.Contains("password authentication failed", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(password, refused.ToString(), StringComparison.Ordinal);
    }
}
