using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Pool;

/// <summary>
/// What a sweep of <see cref="LeaseTable.ReclaimDeadNodes"/> may place for the queue with the capacity a dead node's
/// removal frees. Found by <see cref="Persistence.SuspendRestartPropertyTests"/>: with two nodes dead at once, removing
/// the first let the queue place a waiter on the second (still online for the scheduler: no heartbeat had come to say
/// otherwise), and removing that one next left a placement for a node the table no longer had, so the sweep threw, half
/// done. A node merely stale (silent past the stale limit, not the TTL) is left out of placement as a reservation
/// would leave it.
/// </summary>
public sealed class DeadNodeSweepTests
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private static readonly GpuInfo[] NodeA = [Gpu(0, 80), Gpu(1, 40, "A100 40GB")];
    private static readonly GpuInfo[] NodeB = [Gpu(0, 80)];

    [Fact]
    public async Task ReclaimDeadNodes_EveryAgentSilentAtOnce_ReclaimsThemAllAndPlacesNoWaiterOnAnyOfThem()
    {
        var (time, nodes, table, held, waiting) = QueueBehindIdleSlices();

        time.Advance(Ttl);
        var reclaim = table.ReclaimDeadNodes(Ttl);

        Assert.Equal(["node-a", "node-b"], reclaim.Nodes.Select(n => n.NodeId).Order(StringComparer.Ordinal));
        Assert.Equal(held.Select(l => l.LeaseId).Order(StringComparer.Ordinal), reclaim.Nodes.SelectMany(n => n.Leases).Select(l => l.LeaseId).Order(StringComparer.Ordinal));
        Assert.Empty(table.Snapshot());
        Assert.Empty(table.Scheduler.Allocations());
        Assert.All(waiting, t => Assert.False(t.Placed.IsCompleted, $"{t.KernelId} was placed on a node the sweep declared dead"));
        Assert.All(waiting, t => Assert.True(table.Scheduler.IsWaiting(t.KernelId), $"{t.KernelId} left the queue without a slice"));

        // The first agent back serves the queue.
        Beat(nodes, table, "node-b", NodeB);
        var served = Assert.Single(waiting, t => t.Placed.IsCompletedSuccessfully);
        Assert.Equal("node-b", (await served.Placed).NodeId);
    }

    [Fact]
    public async Task ReclaimDeadNodes_CapacityFreedByADeadNode_IsNotPlacedOnANodeThatIsStaleButNotYetDead()
    {
        var (time, nodes, table, held, waiting) = QueueBehindIdleSlices();
        // node-b's agent is heard from once more, still holding its slice, then goes quiet: stale, not yet dead.
        var onB = held.Single(l => l.NodeId == "node-b");
        time.Advance(StaleAfter / 2);
        Beat(nodes, table, "node-b", NodeB, Binding(onB.LeaseId, onB.Epoch, onB.Gpu, onB.MemoryMiB, onB.ComputePercent, onB.KernelId, onB.Owner));

        time.Advance(Ttl - (StaleAfter / 2));
        var reclaim = table.ReclaimDeadNodes(Ttl);

        Assert.Equal("node-a", Assert.Single(reclaim.Nodes).NodeId);
        Assert.All(waiting, t => Assert.False(t.Placed.IsCompleted, $"{t.KernelId} was placed on node-b, whose agent is silent past the stale limit"));
        Assert.All(waiting, t => Assert.True(table.Scheduler.IsWaiting(t.KernelId)));

        // Its next heartbeat puts it back in placement, and the capacity it has serves the queue.
        Beat(nodes, table, "node-b", NodeB, Binding(onB.LeaseId, onB.Epoch, onB.Gpu, onB.MemoryMiB, onB.ComputePercent, onB.KernelId, onB.Owner));
        var served = Assert.Single(waiting, t => t.Placed.IsCompletedSuccessfully);
        Assert.Equal("node-b", (await served.Placed).NodeId);
    }

    /// <summary>
    /// The pool as the property left it: grace holds two slices on node-a, ada one on node-b, all idle and being
    /// released (their agents do not answer the unbind), and ada's 80 GiB request waits ahead of grace's 40 GiB one.
    /// </summary>
    private static (FakeTimeProvider Time, NodeRegistry Nodes, LeaseTable Table, List<Lease> Held, List<QueueTicket> Waiting) QueueBehindIdleSlices()
    {
        var time = new FakeTimeProvider(Epoch);
        var nodes = new NodeRegistry(time, Options.Create(new BrokerOptions { NodeStaleAfter = StaleAfter, LeaseTtl = Ttl }));
        var table = new LeaseTable(nodes, time, scheduler: new PoolScheduler(new SchedulingOptions().ToSettings(), time));
        Beat(nodes, table, "node-a", NodeA);
        Beat(nodes, table, "node-b", NodeB);
        var held = new[] { ("k0", "grace", 80 * GiB, PriorityClass.Interactive), ("k1", "grace", 10 * GiB, PriorityClass.Interactive), ("k2", "ada", 40 * GiB, PriorityClass.Batch) }
            .Select(k => table.Reserve(k.Item1, k.Item2, new SliceRequest(k.Item3, 25, Priority: k.Item4)).Lease!)
            .ToList();
        Assert.Equal(["node-a/0", "node-a/1", "node-b/0"], held.Select(l => $"{l.NodeId}/{l.Gpu.Index}"));
        foreach (var lease in held)
        {
            // Idle kernels: their slices are expected back at the idle timeout, which the queue's reservations plan with.
            table.ExpectRelease(lease.LeaseId, Epoch + TimeSpan.FromSeconds(8));
        }

        var waiting = new[] { ("k3", "ada", 80 * GiB), ("k4", "grace", 40 * GiB) }
            .Select(k => table.Reserve(k.Item1, k.Item2, new SliceRequest(k.Item3, 25, Priority: PriorityClass.Batch), wait: true).Ticket!)
            .ToList();
        Assert.All(waiting, Assert.NotNull);

        // Both agents go quiet. The idle kernels try to give their slices back at the timeout, but no agent answers the
        // unbind, so the slices stay reserved until an agent says otherwise or the sweep takes them.
        time.Advance(TimeSpan.FromSeconds(8));
        foreach (var lease in held)
        {
            table.ExpectRelease(lease.LeaseId, null);
            table.SetStatus(lease.LeaseId, LeaseStatus.Releasing);
        }

        return (time, nodes, table, held, waiting);
    }

    private static void Beat(NodeRegistry nodes, LeaseTable table, string nodeId, GpuInfo[] gpus, params BindingInfo[] bindings)
    {
        var heartbeat = Heartbeat(nodeId, gpus, bindings);
        nodes.Record(heartbeat);
        table.Reconcile(heartbeat);
    }
}
