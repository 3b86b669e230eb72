using Attach.Broker.Persistence;
using Attach.Broker.Pool;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Persistence;

/// <summary>
/// Thousands of random reservations, binds (some failing, some cut off by a kill), releases, heartbeats and broker
/// kills over one database (each store: <see cref="SqliteRandomizedRestartTests"/>, <see cref="PostgresRandomizedRestartTests"/>), against a model of the agents' ledgers: no GPU is ever over-allocated, no binding an
/// agent holds is unknown to the broker, and epochs only grow.
/// </summary>
public abstract class RandomizedRestartTests : IDisposable
{
    private const int Operations = 3000;
    private static readonly GpuInfo[] Gpus = [Gpu(0, 80), Gpu(1, 40, "A100 40GB")];
    private static readonly string[] NodeIds = ["node-a", "node-b"];

    private readonly TestStore _db;
    private readonly FakeTimeProvider _time = new(Epoch);

    /// <summary>What each agent holds, by lease id: what it would report in its heartbeat.</summary>
    private readonly Dictionary<string, Lease> _ledger = new(StringComparer.Ordinal);

    private protected RandomizedRestartTests(TestStore db)
    {
        _db = db;
    }

    public void Dispose()
    {
        _db.Dispose();
        GC.SuppressFinalize(this);
    }

    [StoreTheory]
    [InlineData(1)]
    [InlineData(20250101)]
    public void RandomOperationsWithKills_NeverOverAllocateLoseALeaseOrReuseAnEpoch(int seed)
    {
        var random = new Random(seed);
        var leases = Start();
        long lastEpoch = 0;
        var restarts = 0;
        for (var step = 0; step < Operations; step++)
        {
            var op = random.Next(100);
            if (op < 40)
            {
                var request = new SliceRequest(random.GetItems<long>([5 * GiB, 10 * GiB, 20 * GiB, 40 * GiB], 1)[0], random.GetItems<int>([10, 25, 50], 1)[0]);
                if (leases.Reserve($"kernel-{step}", "ada", request).Lease is { } lease)
                {
                    Assert.True(lease.Epoch > lastEpoch, $"step {step}: epoch {lease.Epoch} after {lastEpoch}");
                    lastEpoch = lease.Epoch;
                    BindSomehow(leases, lease, random.Next(100));
                }
            }
            else if (op < 65)
            {
                var bound = leases.Snapshot().Where(l => l.Status == LeaseStatus.Bound).ToList();
                if (bound.Count > 0)
                {
                    var lease = bound[random.Next(bound.Count)];
                    leases.SetStatus(lease.LeaseId, LeaseStatus.Releasing);
                    if (random.Next(100) < 80)
                    {
                        _ledger.Remove(lease.LeaseId);
                        leases.Remove(lease.LeaseId);
                    }
                }
            }
            else if (op < 95)
            {
                var nodeId = NodeIds[random.Next(NodeIds.Length)];
                var held = _ledger.Values.Where(l => l.NodeId == nodeId)
                    .Select(l => Binding(l.LeaseId, l.Epoch, l.Gpu, l.MemoryMiB, l.ComputePercent, l.KernelId, l.Owner)).ToList();
                var reconciled = leases.Reconcile(Heartbeat(nodeId, Gpus, held));
                Assert.Empty(reconciled.Adopted);
                foreach (var lease in reconciled.ToUnbind)
                {
                    _ledger.Remove(lease.LeaseId);
                    leases.Remove(lease.LeaseId);
                }
            }
            else
            {
                var before = leases.Snapshot().ToDictionary(l => l.LeaseId, StringComparer.Ordinal);
                leases = Start();
                restarts++;
                var after = leases.Snapshot();
                Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Select(l => l.LeaseId).Order(StringComparer.Ordinal));
                Assert.All(after, l => Assert.Equal(
                    (before[l.LeaseId].Epoch, before[l.LeaseId].Gpu, before[l.LeaseId].MemoryMiB, before[l.LeaseId].Status == LeaseStatus.Bound),
                    (l.Epoch, l.Gpu, l.MemoryMiB, l.Status == LeaseStatus.Bound)));
                Assert.True(leases.LastEpoch >= lastEpoch);
            }

            AssertConsistent(leases, step);
        }

        Assert.InRange(restarts, 50, Operations);
    }

    private void BindSomehow(LeaseTable leases, Lease lease, int outcome)
    {
        switch (outcome)
        {
            case < 70:
                _ledger[lease.LeaseId] = lease;
                leases.SetStatus(lease.LeaseId, LeaseStatus.Bound);
                break;
            case < 80:
                // The agent bound but its answer was lost.
                _ledger[lease.LeaseId] = lease;
                leases.SetStatus(lease.LeaseId, LeaseStatus.Releasing);
                break;
            case < 90:
                leases.SetStatus(lease.LeaseId, LeaseStatus.Releasing);
                break;
            case < 95:
                // The broker is killed while the agent binds: the lease stays Binding until the next start.
                _ledger[lease.LeaseId] = lease;
                break;
            default:
                // Killed before the bind reached the agent.
                break;
        }
    }

    private void AssertConsistent(LeaseTable leases, int step)
    {
        var table = leases.Snapshot();
        foreach (var gpu in table.GroupBy(l => (l.NodeId, l.Gpu)))
        {
            Assert.True(gpu.Sum(l => l.MemoryMiB) <= gpu.Key.Gpu.MemoryTotalMiB, $"step {step}: {gpu.Key} memory over-allocated");
            Assert.True(gpu.Sum(l => l.ComputePercent) <= 100, $"step {step}: {gpu.Key} compute over-allocated");
        }

        var known = table.Select(l => l.LeaseId).ToHashSet(StringComparer.Ordinal);
        Assert.All(_ledger.Keys, id => Assert.Contains(id, known));
    }

    /// <summary>A new broker over the same database; the previous one is abandoned as a killed process leaves it.</summary>
    private LeaseTable Start()
    {
        var store = _db.Open();
        var nodes = new NodeRegistry(_time, Options.Create(new BrokerOptions()));
        foreach (var nodeId in NodeIds)
        {
            nodes.Record(Heartbeat(nodeId, Gpus));
        }

        return new LeaseTable(nodes, _time, store);
    }
}
