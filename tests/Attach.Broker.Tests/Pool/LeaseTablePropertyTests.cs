using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Contracts.Pool;
using FsCheck.Xunit;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Pool;

/// <summary>
/// Random sequences of reserve (waiting when full), release, agent death, agent return (empty, or still holding what it
/// held) and time passing with heartbeats and the dead-node sweep, run on the real lease table and scheduler with a fake
/// clock. After every step: no GPU holds more memory or compute than it has, the table's leases are exactly the
/// scheduler's slices, no lease is on a node declared dead, every lease ever handed out is live, released or reclaimed,
/// and every request is either placed once or still waiting. At the end, with every agent back and every slice released,
/// every waiter has been served.
/// </summary>
public sealed class LeaseTablePropertyTests
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(60);
    private static readonly Dictionary<string, GpuInfo[]> Pool = new(StringComparer.Ordinal)
    {
        ["node-a"] = [Gpu(0, 80), Gpu(1, 40)],
        ["node-b"] = [Gpu(0, 80)],
    };

    private static readonly string[] Users = ["ada", "grace", "linus"];

    [Property(MaxTest = 200)]
    public void RandomOperationsWithAgentDeath_NeverDoubleBookAndEveryLeaseIsLiveOrReclaimed(int[] operations)
    {
        var time = new FakeTimeProvider(Epoch);
        var nodes = new NodeRegistry(time, Options.Create(new BrokerOptions { NodeStaleAfter = StaleAfter, LeaseTtl = Ttl }));
        var table = new LeaseTable(nodes, time);
        var alive = new HashSet<string>(Pool.Keys, StringComparer.Ordinal);
        var heldAtDeath = new Dictionary<string, List<Lease>>(StringComparer.Ordinal);
        var handedOut = new Dictionary<string, Lease>(StringComparer.Ordinal);
        var released = new HashSet<string>(StringComparer.Ordinal);
        var reclaimed = new HashSet<string>(StringComparer.Ordinal);
        var tickets = new Dictionary<string, QueueTicket>(StringComparer.Ordinal);
        var next = 0;
        foreach (var node in Pool.Keys)
        {
            Beat(nodes, table, node, []);
        }

        foreach (var op in operations ?? [])
        {
            var mixed = unchecked((uint)op * 2654435761u);
            var kind = (int)(mixed % 6);
            var p = (int)(mixed >> 8);
            switch (kind)
            {
                case 0 or 1:
                    var kernel = $"k{next++}";
                    var size = (p % 4) switch { 0 => 10 * GiB, 1 => 20 * GiB, 2 => 40 * GiB, _ => 80 * GiB };
                    var result = table.Reserve(kernel, Users[p / 4 % Users.Length], new SliceRequest(size, 25, Priority: kind == 0 ? PriorityClass.Interactive : PriorityClass.Batch), wait: true);
                    if (result.Lease is { } lease)
                    {
                        handedOut.Add(lease.LeaseId, lease);
                    }
                    else if (result.Ticket is { } ticket)
                    {
                        tickets.Add(kernel, ticket);
                    }
                    else
                    {
                        // Refused only when no agent is up at all (every size fits a GPU of either node).
                        Assert.Empty(alive);
                        Assert.Contains("no GPU node is registered", result.Failure, StringComparison.Ordinal);
                    }

                    break;
                case 2:
                    var live = table.Snapshot().OrderBy(l => l.LeaseId, StringComparer.Ordinal).ToList();
                    if (live.Count > 0)
                    {
                        var gone = live[p % live.Count];
                        // Removed once the agent confirmed the unbind: no ledger holds it any more.
                        table.Remove(gone.LeaseId);
                        released.Add(gone.LeaseId);
                        foreach (var ledger in heldAtDeath.Values)
                        {
                            ledger.RemoveAll(l => l.LeaseId == gone.LeaseId);
                        }
                    }

                    break;
                case 3:
                    // An agent dies (keeping in its ledger what it held), or comes back: empty, or still holding it.
                    var node = p % 2 == 0 ? "node-a" : "node-b";
                    if (alive.Remove(node))
                    {
                        heldAtDeath[node] = [.. table.Snapshot().Where(l => l.NodeId == node)];
                    }
                    else
                    {
                        alive.Add(node);
                        var ledger = p / 2 % 2 == 0 ? [] : heldAtDeath.GetValueOrDefault(node) ?? [];
                        var adopted = Beat(nodes, table, node, ledger);
                        foreach (var back in adopted)
                        {
                            Assert.True(reclaimed.Remove(back.LeaseId), $"{back.LeaseId} was adopted but never reclaimed");
                        }
                    }

                    break;
                default:
                    time.Advance(TimeSpan.FromSeconds(p % 45));
                    foreach (var beating in alive.Order(StringComparer.Ordinal))
                    {
                        Beat(nodes, table, beating, [.. table.Snapshot().Where(l => l.NodeId == beating)]);
                    }

                    foreach (var dead in table.ReclaimDeadNodes(Ttl).Nodes)
                    {
                        Assert.DoesNotContain(dead.NodeId, alive);
                        Assert.True(dead.Silent > Ttl);
                        foreach (var taken in dead.Leases)
                        {
                            Assert.True(reclaimed.Add(taken.LeaseId));
                        }
                    }

                    break;
            }

            foreach (var (kernel, ticket) in tickets.Where(t => t.Value.Placed.IsCompletedSuccessfully).ToList())
            {
                handedOut.Add(ticket.Placed.Result.LeaseId, ticket.Placed.Result);
                tickets.Remove(kernel);
            }

            CheckInvariants(table, handedOut, released, reclaimed, tickets);
        }

        // Every agent back, then every slice released: everyone still waiting must be served on the way.
        foreach (var node in Pool.Keys)
        {
            alive.Add(node);
            Beat(nodes, table, node, [.. table.Snapshot().Where(l => l.NodeId == node)]);
        }

        for (var rounds = 0; table.Snapshot().Count > 0; rounds++)
        {
            Assert.True(rounds < 10_000, "the drain does not end");
            table.Remove(table.Snapshot().OrderBy(l => l.Since).ThenBy(l => l.LeaseId, StringComparer.Ordinal).First().LeaseId);
        }

        Assert.All(tickets.Values, t => Assert.True(t.Placed.IsCompletedSuccessfully, $"{t.KernelId} was never served"));
        Assert.Equal(0, table.Scheduler.WaiterCount);
    }

    private static IReadOnlyList<Lease> Beat(NodeRegistry nodes, LeaseTable table, string nodeId, IReadOnlyList<Lease> ledger)
    {
        var heartbeat = Heartbeat(nodeId, Pool[nodeId], [.. ledger.Select(l => Binding(l.LeaseId, l.Epoch, l.Gpu, l.MemoryMiB, l.ComputePercent, l.KernelId, l.Owner))]);
        nodes.Record(heartbeat);
        return table.Reconcile(heartbeat).Adopted;
    }

    private static void CheckInvariants(
        LeaseTable table, Dictionary<string, Lease> handedOut, HashSet<string> released, HashSet<string> reclaimed, Dictionary<string, QueueTicket> tickets)
    {
        var leases = table.Snapshot();
        Assert.Equal(leases.Select(l => l.LeaseId).Order(StringComparer.Ordinal), table.Scheduler.Allocations().Select(a => a.AllocationId).Order(StringComparer.Ordinal));
        foreach (var gpu in leases.GroupBy(l => (l.NodeId, l.Gpu.Index)))
        {
            var total = Pool[gpu.Key.NodeId].Single(g => g.Index == gpu.Key.Index).MemoryTotalMiB;
            Assert.True(gpu.Sum(l => l.MemoryMiB) <= total, $"{gpu.Key} holds {gpu.Sum(l => l.MemoryMiB)} MiB of {total}");
            Assert.True(gpu.Sum(l => l.ComputePercent) <= 100, $"{gpu.Key} holds {gpu.Sum(l => l.ComputePercent)}% compute");
        }

        Assert.All(leases, l => Assert.False(table.IsDead(l.NodeId), $"{l.LeaseId} is on dead node {l.NodeId}"));
        Assert.Equal(leases.Select(l => l.KernelId).Distinct(StringComparer.Ordinal).Count(), leases.Count);
        foreach (var id in handedOut.Keys)
        {
            var live = leases.Any(l => l.LeaseId == id);
            Assert.True(live || released.Contains(id) || reclaimed.Contains(id), $"lease {id} vanished: neither live, released nor reclaimed");
        }

        Assert.All(tickets.Values, t => Assert.True(table.Scheduler.IsWaiting(t.KernelId), $"{t.KernelId} neither placed nor waiting"));
    }
}
