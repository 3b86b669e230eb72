using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Pool;

/// <summary>The lease table's queue: requests that wait get their lease when capacity frees, never one already handed out.</summary>
public sealed class LeaseTableQueueTests
{
    private static readonly SliceRequest Whole = new(80 * GiB, 100);
    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly NodeRegistry _nodes;
    private readonly LeaseTable _leases;

    public LeaseTableQueueTests()
    {
        _nodes = new NodeRegistry(_time, Options.Create(new BrokerOptions()));
        _leases = new LeaseTable(_nodes, _time);
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));
    }

    [Fact]
    public async Task Reserve_Full_QueuesAndTheReleaseHandsTheWaiterANewLease()
    {
        var held = _leases.Reserve("kernel-1", "alice", Whole).Lease!;
        var observer = new RecordingObserver();

        var waiting = _leases.Reserve("kernel-2", "bob", Whole, wait: true, observer);
        Assert.False(waiting.Ticket!.Placed.IsCompleted);
        _leases.Remove(held.LeaseId);
        var lease = await waiting.Ticket.Placed.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(waiting.Lease);
        Assert.Equal(("kernel-2", "bob", LeaseStatus.Binding), (lease.KernelId, lease.Owner, lease.Status));
        Assert.True(lease.Epoch > held.Epoch);
        Assert.Same(lease, Assert.Single(_leases.Snapshot()));
        Assert.Equal((1, 1), (observer.Standings[0].Position, observer.Standings[0].QueueLength));
        Assert.Equal(("node-a", 0), Assert.Single(observer.Placements));
    }

    [Fact]
    public void Reserve_SameKernelWhileWaiting_ReturnsItsTicket()
    {
        _leases.Reserve("kernel-1", "alice", Whole);
        var first = _leases.Reserve("kernel-2", "bob", Whole, wait: true);

        var again = _leases.Reserve("kernel-2", "bob", Whole, wait: true);

        Assert.Same(first.Ticket, again.Ticket);
        Assert.Equal(1, _leases.Scheduler.WaiterCount);
    }

    [Fact]
    public void Reserve_WaitersMoveUp_EachIsToldItsNewPosition()
    {
        _leases.Reserve("kernel-1", "alice", new SliceRequest(40 * GiB, 50));
        _leases.Reserve("kernel-0", "zoe", new SliceRequest(40 * GiB, 50));
        var bob = new RecordingObserver();
        var carol = new RecordingObserver();
        _leases.Reserve("kernel-2", "bob", Whole, wait: true, bob);
        _leases.Reserve("kernel-3", "carol", Whole, wait: true, carol);

        _leases.CancelWait("kernel-2");

        Assert.Equal([(1, 1), (1, 2)], bob.Standings.Select(s => (s.Position, s.QueueLength)));
        Assert.Equal([(2, 2), (1, 1)], carol.Standings.Select(s => (s.Position, s.QueueLength)));
        Assert.Equal(2, _leases.Snapshot().Count);
    }

    [Fact]
    public async Task CancelWait_TicketIsCancelledAndTheReleasedSliceGoesToTheNext()
    {
        var held = _leases.Reserve("kernel-1", "alice", Whole).Lease!;
        var bob = _leases.Reserve("kernel-2", "bob", Whole, wait: true).Ticket!;
        var carol = _leases.Reserve("kernel-3", "carol", Whole, wait: true).Ticket!;

        Assert.True(_leases.CancelWait("kernel-2"));
        _leases.Remove(held.LeaseId);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => bob.Placed);
        Assert.Equal("kernel-3", (await carol.Placed).KernelId);
        Assert.False(_leases.CancelWait("kernel-3"));
    }

    [Fact]
    public async Task Reconcile_ConfirmedUnbind_ServesTheWaiter()
    {
        var held = _leases.Reserve("kernel-1", "alice", Whole).Lease!;
        _leases.SetStatus(held.LeaseId, LeaseStatus.Releasing);
        var waiting = _leases.Reserve("kernel-2", "bob", Whole, wait: true).Ticket!;

        _leases.Reconcile(Heartbeat("node-a", [Gpu(0, 80)]));

        Assert.Equal("kernel-2", (await waiting.Placed.WaitAsync(TimeSpan.FromSeconds(10))).KernelId);
    }

    [Fact]
    public async Task Reconcile_NewNode_ServesTheWaiterThere()
    {
        _leases.Reserve("kernel-1", "alice", Whole);
        var waiting = _leases.Reserve("kernel-2", "bob", Whole, wait: true).Ticket!;

        _nodes.Record(Heartbeat("node-b", [Gpu(0, 80)]));
        _leases.Reconcile(Heartbeat("node-b", [Gpu(0, 80)]));

        Assert.Equal("node-b", (await waiting.Placed.WaitAsync(TimeSpan.FromSeconds(10))).NodeId);
    }

    [Fact]
    public void Reserve_WithoutWait_IsRefusedWithTheLargestHoleAndLeavesNoWaiter()
    {
        _leases.Reserve("kernel-1", "alice", new SliceRequest(60 * GiB, 50));

        var refused = _leases.Reserve("kernel-2", "bob", new SliceRequest(40 * GiB, 25));

        Assert.Contains("largest free: 20 GiB", refused.Failure, StringComparison.Ordinal);
        Assert.Equal(0, _leases.Scheduler.WaiterCount);
    }

    private sealed class RecordingObserver : IQueueObserver
    {
        public List<WaiterInfo> Standings { get; } = [];

        public List<(string NodeId, int GpuIndex)> Placements { get; } = [];

        public void Queued(WaiterInfo standing) => Standings.Add(standing);

        public void Placed(string nodeId, int gpuIndex, string gpuName) => Placements.Add((nodeId, gpuIndex));
    }
}
