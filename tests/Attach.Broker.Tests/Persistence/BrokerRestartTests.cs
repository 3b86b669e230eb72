using System.Security.Claims;
using Attach.Broker.Apis;
using Attach.Broker.Kernels;
using Attach.Broker.Persistence;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Attach.ServiceDefaults.Security;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Persistence;

/// <summary>
/// A broker killed without shutting down, and a new one started over the same database: the old instance is
/// abandoned, never disposed or flushed, as a killed process would leave it. Run for each store
/// (<see cref="SqliteBrokerRestartTests"/>, <see cref="PostgresBrokerRestartTests"/>).
/// </summary>
public abstract class BrokerRestartTests : IDisposable
{
    private static readonly GpuInfo A100 = Gpu(0, 80);
    private static readonly GpuInfo H100 = Gpu(1, 80, "H100 80GB");
    private static readonly ClaimsPrincipal Service = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, AttachClaims.ServiceUser)], "test"));

    private readonly TestStore _db;
    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly List<IDisposable> _abandoned = [];

    private protected BrokerRestartTests(TestStore db)
    {
        _db = db;
    }

    public void Dispose()
    {
        foreach (var disposable in _abandoned)
        {
            disposable.Dispose();
        }

        _db.Dispose();
        GC.SuppressFinalize(this);
    }

    [StoreFact]
    public void Restart_AfterAKill_KeepsEveryLeaseTheCapacityTheyTakeAndEpochsAboveThemAll()
    {
        var before = Start();
        var bound = Reserve(before, "kernel-1", 30 * GiB);
        before.Leases.SetStatus(bound.LeaseId, LeaseStatus.Bound);
        var binding = Reserve(before, "kernel-2", 20 * GiB);
        var releasing = Reserve(before, "kernel-3", 10 * GiB);
        before.Leases.SetStatus(releasing.LeaseId, LeaseStatus.Releasing);
        var gone = Reserve(before, "kernel-4", 10 * GiB);
        before.Leases.Remove(gone.LeaseId);
        var poolBefore = Pool(before);

        var after = Start();

        var restored = after.Leases.Snapshot().OrderBy(l => l.Epoch).ToList();
        Assert.Equal(
            [(bound.LeaseId, bound.Epoch, LeaseStatus.Bound), (binding.LeaseId, binding.Epoch, LeaseStatus.Releasing), (releasing.LeaseId, releasing.Epoch, LeaseStatus.Releasing)],
            restored.Select(l => (l.LeaseId, l.Epoch, l.Status)));
        var first = restored[0];
        Assert.Equal((bound.KernelId, bound.Owner, bound.NodeId, bound.AgentUrl, bound.Gpu, bound.MemoryMiB, bound.ComputePercent, bound.Since),
            (first.KernelId, first.Owner, first.NodeId, first.AgentUrl, first.Gpu, first.MemoryMiB, first.ComputePercent, first.Since));
        Assert.Equal(gone.Epoch, after.Leases.LastEpoch);
        Assert.Equal(poolBefore, Pool(after));

        var next = Reserve(after, "kernel-5", 20 * GiB);
        Assert.True(next.Epoch > gone.Epoch, $"epoch {next.Epoch} after a restart must out-rank {gone.Epoch}, or agents would refuse it");
        Reserve(after, "kernel-6", 50 * GiB);
        foreach (var gpu in after.Leases.Snapshot().GroupBy(l => l.Gpu))
        {
            Assert.True(gpu.Sum(l => l.MemoryMiB) <= gpu.Key.MemoryTotalMiB && gpu.Sum(l => l.ComputePercent) <= 100, $"GPU {gpu.Key.Index} is over-allocated");
        }
    }

    [StoreFact]
    public void Restart_EpochCounter_NeverGoesBackEvenWhenEveryLeaseIsGone()
    {
        var before = Start();
        var lease = Reserve(before, "kernel-1", 10 * GiB);
        before.Leases.Remove(lease.LeaseId);

        var after = Start();

        Assert.Empty(after.Leases.Snapshot());
        Assert.True(Reserve(after, "kernel-2", 10 * GiB).Epoch > lease.Epoch);
    }

    [StoreFact]
    public void Restart_BoundLease_GivesItsKernelBackAttachedAndOwnershipSurvives()
    {
        var before = Start();
        before.Kernels.GetOrAdd("kernel-1", "ada");
        Assert.NotNull(before.Kernels.GetOrAdd("kernel-idle", "grace"));
        var lease = Reserve(before, "kernel-1", 20 * GiB);
        before.Leases.SetStatus(lease.LeaseId, LeaseStatus.Bound);

        var after = Start();
        new BrokerStateRestorer(after.Store, after.Leases, after.Kernels, NullLogger<BrokerStateRestorer>.Instance).StartAsync(CancellationToken.None);

        var status = after.Kernels.Find("kernel-1", "ada")!.Status;
        Assert.Equal(KernelState.Attached, status.State);
        Assert.Equal((lease.LeaseId, 20 * GiB), (status.Attachment!.LeaseId, status.Attachment.SliceMemoryMiB));
        Assert.Null(after.Kernels.GetOrAdd("kernel-idle", "ada"));
        Assert.Equal(KernelState.Detached, after.Kernels.Find("kernel-idle", "grace")!.Status.State);
    }

    [StoreFact]
    public void Restart_PendingLeaseTheAgentNeverBound_IsFreedByItsFirstHeartbeat()
    {
        var before = Start();
        var leases = new[] { Reserve(before, "kernel-1", 80 * GiB), Reserve(before, "kernel-2", 80 * GiB) };

        var after = Start();
        Assert.Null(after.Leases.Reserve("kernel-3", "ada", new SliceRequest(10 * GiB, 25, "node-a")).Lease);
        var reconciled = after.Leases.Reconcile(Heartbeat("node-a", [A100, H100]));

        Assert.Equal(leases.Select(l => l.LeaseId).Order(), reconciled.ConfirmedReleases.Select(l => l.LeaseId).Order());
        Assert.Empty(Start().Leases.Snapshot());
    }

    private static Lease Reserve(Broker broker, string kernelId, long memoryMiB)
    {
        var result = broker.Leases.Reserve(kernelId, "ada", new SliceRequest(memoryMiB, 25, "node-a"));
        return result.Lease ?? throw new InvalidOperationException(result.Failure);
    }

    private static List<(int Gpu, long Allocated, int Leases)> Pool(Broker broker) =>
        [.. Assert.Single(PoolApi.Get(broker.Nodes, broker.Leases, Service, CancellationToken.None).Value!.Nodes).Gpus
            .Select(g => (g.Gpu.Index, g.AllocatedMiB, g.Leases.Count))];

    /// <summary>A broker over the database; the node has sent one heartbeat without bindings.</summary>
    private Broker Start()
    {
        var options = Options.Create(new BrokerOptions());
        var store = _db.Open();
        var nodes = new NodeRegistry(_time, options);
        nodes.Record(Heartbeat("node-a", [A100, H100]));
        var leases = new LeaseTable(nodes, _time, store);
        var kernels = new KernelRegistry(new FakeGpuBinder(), new RecordingEventPublisher(), _time, options, NullLoggerFactory.Instance, store);
        _abandoned.Add(kernels);
        return new Broker(store, nodes, leases, kernels);
    }

    private sealed record Broker(ILeaseStore Store, NodeRegistry Nodes, LeaseTable Leases, KernelRegistry Kernels);
}
