using Attach.Broker.Pool;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Pool;

/// <summary>MIG instances an agent reports in its heartbeat are placed as fixed slices, each given whole to one kernel.</summary>
public sealed class LeaseTableMigTests
{
    private static readonly GpuInfo A100 = Gpu(0, 80);
    private static readonly GpuMigLayout Layout = new(0, [new(0, 1, 0, 14, 10 * GiB, 0), new(1, 2, 0, 42, 40 * GiB, 0)]);

    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly NodeRegistry _nodes;
    private readonly LeaseTable _leases;

    public LeaseTableMigTests()
    {
        _nodes = new NodeRegistry(_time, Options.Create(new BrokerOptions()));
        _leases = new LeaseTable(_nodes, _time);
    }

    private void Beat(IReadOnlyList<GpuMigLayout>? mig)
    {
        var heartbeat = Heartbeat("node-a", [A100]) with { Mig = mig };
        _nodes.Record(heartbeat);
        _leases.Reconcile(heartbeat);
    }

    [Fact]
    public void Reserve_OnAGpuInMigMode_GetsAWholeInstanceAndNeverShareOne()
    {
        Beat([Layout]);

        var small = _leases.Reserve("kernel-1", "ada", new SliceRequest(5 * GiB, 25)).Lease!;
        var second = _leases.Reserve("kernel-2", "grace", new SliceRequest(5 * GiB, 25)).Lease!;
        var third = _leases.Reserve("kernel-3", "linus", new SliceRequest(5 * GiB, 25));

        Assert.Equal((10 * GiB, 100), (small.MemoryMiB, small.ComputePercent));
        Assert.Equal((40 * GiB, 100), (second.MemoryMiB, second.ComputePercent));
        Assert.Null(third.Lease);
        Assert.Equal([0, 1], _leases.Scheduler.Allocations().Select(a => a.MigIndex!.Value).Order());
    }

    [Fact]
    public void Heartbeat_MigModeTurnedOff_TheGpuIsSlicedByMemoryAgain()
    {
        Beat([Layout]);
        Beat(null);

        var first = _leases.Reserve("kernel-1", "ada", new SliceRequest(5 * GiB, 25)).Lease!;
        var second = _leases.Reserve("kernel-2", "grace", new SliceRequest(5 * GiB, 25)).Lease!;

        Assert.Equal((5 * GiB, 5 * GiB), (first.MemoryMiB, second.MemoryMiB));
        Assert.All(_leases.Scheduler.Allocations(), a => Assert.Null(a.MigIndex));
    }

    [Fact]
    public void Reconcile_BindingOnAMigGpuTheBrokerLost_TakesItsInstanceSoItIsNotGivenAgain()
    {
        // A broker that restarted without its state hears of a 40 GiB binding on the GPU in MIG mode.
        var heartbeat = Heartbeat("node-a", [A100], [Binding("lease-old", 3, A100, 40 * GiB, 100)]) with { Mig = [Layout] };
        _nodes.Record(heartbeat);
        Assert.Single(_leases.Reconcile(heartbeat).Adopted);

        var large = _leases.Reserve("kernel-1", "ada", new SliceRequest(20 * GiB, 25));
        var small = _leases.Reserve("kernel-2", "grace", new SliceRequest(5 * GiB, 25)).Lease!;

        Assert.Null(large.Lease);
        Assert.Equal(10 * GiB, small.MemoryMiB);
    }

    private const string Mig0 = "MIG-a686709d-6dc2-542a-8851-0d2508448c10";
    private const string Mig1 = "MIG-53864714-0a66-5df2-9007-9268e30d9a72";

    /// <summary>Two 1g.10gb instances of the same size, with the UUIDs <c>nvidia-smi -L</c> gives them.</summary>
    private static readonly GpuMigLayout TwinLayout = new(0, [new(0, 1, 0, 14, 10 * GiB, 0, Mig0), new(1, 2, 0, 14, 10 * GiB, 0, Mig1)]);

    [Fact]
    public void Reserve_OnAGpuInMigMode_TheLeaseNamesItsInstanceByMigUuid()
    {
        Beat([Layout with { Instances = [Layout.Instances[0] with { Uuid = Mig0 }, Layout.Instances[1] with { Uuid = Mig1 }] }]);

        var small = _leases.Reserve("kernel-1", "ada", new SliceRequest(5 * GiB, 25)).Lease!;
        var large = _leases.Reserve("kernel-2", "grace", new SliceRequest(20 * GiB, 25)).Lease!;

        Assert.Equal((10 * GiB, Mig0), (small.MemoryMiB, small.MigUuid));
        Assert.Equal((40 * GiB, Mig1), (large.MemoryMiB, large.MigUuid));
        Assert.Equal([(0, Mig0), (1, Mig1)], _leases.Scheduler.Allocations().Select(a => (a.MigIndex!.Value, a.MigUuid!)).Order());
    }

    [Fact]
    public void Reserve_OnAGpuNotInMigMode_TheLeaseNamesNoMigInstance()
    {
        Beat(null);

        var lease = _leases.Reserve("kernel-1", "ada", new SliceRequest(5 * GiB, 25)).Lease!;

        Assert.Null(lease.MigUuid);
    }

    [Fact]
    public void Reconcile_BindingOnAMigInstanceTheBrokerLost_TakesThatInstanceByUuidNotAnotherOfItsSize()
    {
        // The agent holds the second of two equal instances; sized alone, the adoption would take the first.
        var binding = Binding("lease-old", 3, A100, 10 * GiB, 100) with { MigUuid = Mig1 };
        var heartbeat = Heartbeat("node-a", [A100], [binding]) with { Mig = [TwinLayout] };
        _nodes.Record(heartbeat);
        var adopted = Assert.Single(_leases.Reconcile(heartbeat).Adopted);

        var next = _leases.Reserve("kernel-1", "ada", new SliceRequest(5 * GiB, 25)).Lease!;

        Assert.Equal(Mig1, adopted.MigUuid);
        Assert.Equal(Mig0, next.MigUuid);
    }

    [Fact]
    public void Capacity_InstanceWithoutAReportedSize_IsLeftOut()
    {
        var heartbeat = Heartbeat("node-a", [A100]) with { Mig = [new GpuMigLayout(0, [new(0, 1, 0, null, null, null), new(1, 2, 0, 14, 10 * GiB, 0)])] };

        var gpu = Assert.Single(LeaseTable.Capacity(heartbeat));

        Assert.Equal([new Attach.Broker.Scheduling.MigSlice(1, 10 * GiB)], gpu.MigInstances!);
    }
}
