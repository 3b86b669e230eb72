using Attach.Broker.Persistence;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Persistence;

/// <summary>The one list of migrations, applied by each store (<see cref="SqliteStoreMigrationsTests"/>, <see cref="PostgresStoreMigrationsTests"/>).</summary>
public abstract class StoreMigrationsTests : IDisposable
{
    private readonly TestStore _db;

    private protected StoreMigrationsTests(TestStore db)
    {
        _db = db;
    }

    public void Dispose()
    {
        _db.Dispose();
        GC.SuppressFinalize(this);
    }

    [StoreFact]
    public void Open_NewDatabase_AppliesEveryVersionOnce()
    {
        var store = _db.Open();
        Assert.Equal(0, store.OpenedAtVersion);
        Assert.Equal(0, store.Load().Epoch);

        var again = _db.Open();

        Assert.Equal(StoreMigrations.Latest, again.OpenedAtVersion);
        Assert.Equal(Enumerable.Range(1, StoreMigrations.Latest).Select(v => (long)v), Versions());
    }

    [StoreFact]
    public void Open_DatabaseFromANewerBroker_RefusesWithAClearMessage()
    {
        var store = _db.Open();
        _db.Execute($"INSERT INTO schema_version (version, applied_at) VALUES ({StoreMigrations.Latest + 1}, 'later')");

        var refused = Assert.Throws<InvalidOperationException>(() => _db.Open());

        Assert.Contains($"schema version {StoreMigrations.Latest + 1}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("a newer broker wrote it", refused.Message, StringComparison.Ordinal);
        Assert.Contains(store.Description, refused.Message, StringComparison.Ordinal);
    }

    [StoreFact]
    public void AddLease_WithAnOlderEpochThanTheCounter_NeverLowersIt()
    {
        var store = _db.Open();
        store.AddLease(WithEpoch(Lease("node-a", Gpu(0, 80), 10 * GiB), 7));
        // An adopted binding from an agent that lags behind must not lower the counter.
        store.AddLease(WithEpoch(Lease("node-a", Gpu(1, 80), 10 * GiB), 3));

        Assert.Equal(7, _db.Open().Load().Epoch);
    }

    [StoreFact]
    public void Load_LeaseOnAMigInstance_KeepsItsMigUuidAndALeaseOfAWholeGpuHasNone()
    {
        var store = _db.Open();
        var onMig = Lease("node-a", Gpu(0, 80), 10 * GiB, 100);
        store.AddLease(new Broker.Pool.Lease
        {
            LeaseId = onMig.LeaseId,
            Epoch = 2,
            KernelId = onMig.KernelId,
            Owner = onMig.Owner,
            NodeId = onMig.NodeId,
            AgentUrl = onMig.AgentUrl,
            Gpu = onMig.Gpu,
            MemoryMiB = onMig.MemoryMiB,
            ComputePercent = onMig.ComputePercent,
            MigUuid = "MIG-a686709d-6dc2-542a-8851-0d2508448c10",
            Since = onMig.Since,
            Status = onMig.Status,
        });
        var whole = Lease("node-a", Gpu(1, 80), 10 * GiB);
        store.AddLease(whole);

        var leases = _db.Open().Load().Leases.ToDictionary(lease => lease.LeaseId);

        Assert.Equal("MIG-a686709d-6dc2-542a-8851-0d2508448c10", leases[onMig.LeaseId].MigUuid);
        Assert.Null(leases[whole.LeaseId].MigUuid);
    }

    private static Broker.Pool.Lease WithEpoch(Broker.Pool.Lease lease, long epoch) => new()
    {
        LeaseId = lease.LeaseId,
        Epoch = epoch,
        KernelId = lease.KernelId,
        Owner = lease.Owner,
        NodeId = lease.NodeId,
        AgentUrl = lease.AgentUrl,
        Gpu = lease.Gpu,
        MemoryMiB = lease.MemoryMiB,
        ComputePercent = lease.ComputePercent,
        Since = lease.Since,
        Status = lease.Status,
    };

    private List<long> Versions() => _db.Query("SELECT version FROM schema_version ORDER BY version", r => Convert.ToInt64(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
}
