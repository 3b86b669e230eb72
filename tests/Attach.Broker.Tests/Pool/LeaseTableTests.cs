using Attach.Broker.Pool;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Pool;

public sealed class LeaseTableTests
{
    private static readonly SliceRequest TwentyGiB = new(20 * GiB, 25);
    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly NodeRegistry _nodes;
    private readonly LeaseTable _leases;

    public LeaseTableTests()
    {
        _nodes = new NodeRegistry(_time, Options.Create(new BrokerOptions()));
        _leases = new LeaseTable(_nodes, _time);
    }

    [Fact]
    public void Reserve_WithRoom_ReturnsABindingLeaseOnALiveNode()
    {
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));

        var result = _leases.Reserve("kernel-1", "alice", TwentyGiB);

        Assert.Null(result.Failure);
        var lease = result.Lease!;
        Assert.Equal(("kernel-1", "alice", "node-a", 0), (lease.KernelId, lease.Owner, lease.NodeId, lease.Gpu.Index));
        Assert.Equal((20 * GiB, 25), (lease.MemoryMiB, lease.ComputePercent));
        Assert.Equal(LeaseStatus.Binding, lease.Status);
        Assert.Equal(new Uri("http://node-a:7070/"), lease.AgentUrl);
        Assert.Equal(Epoch, lease.Since);
        Assert.Same(lease, Assert.Single(_leases.Snapshot()));
    }

    [Fact]
    public void Reserve_NoLiveNode_FailsWithTheAgentHint()
    {
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));
        _time.Advance(TimeSpan.FromMinutes(1));

        var result = _leases.Reserve("kernel-1", "alice", TwentyGiB);

        Assert.Null(result.Lease);
        Assert.Contains("agent", result.Failure, StringComparison.Ordinal);
        Assert.Empty(_leases.Snapshot());
    }

    [Fact]
    public void Reserve_UntilFull_RefusesTheSliceThatDoesNotFit()
    {
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));

        var granted = Enumerable.Range(0, 5).Select(i => _leases.Reserve($"kernel-{i}", "alice", TwentyGiB)).ToList();

        Assert.All(granted.Take(4), r => Assert.NotNull(r.Lease));
        Assert.Null(granted[4].Lease);
        Assert.Contains("largest free: 0 MiB", granted[4].Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Remove_FreesTheCapacity()
    {
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));
        var whole = new SliceRequest(80 * GiB, 100);
        var first = _leases.Reserve("kernel-1", "alice", whole).Lease!;
        Assert.Null(_leases.Reserve("kernel-2", "bob", whole).Lease);

        _leases.Remove(first.LeaseId);

        Assert.NotNull(_leases.Reserve("kernel-2", "bob", whole).Lease);
    }

    [Fact]
    public void Reserve_ManyRandomReservationsAndRemovals_NeverOverAllocatesAndNeverRefusesARoom()
    {
        var random = new Random(20250101);
        GpuInfo[] gpusA = [Gpu(0, 80), Gpu(1, 80), Gpu(2, 40), Gpu(3, 24)];
        GpuInfo[] gpusB = [Gpu(0, 48), Gpu(1, 16)];
        _nodes.Record(Heartbeat("node-a", gpusA));
        _nodes.Record(Heartbeat("node-b", gpusB));
        var capacity = gpusA.Select(g => (Key: ("node-a", g.Index), g.MemoryTotalMiB))
            .Concat(gpusB.Select(g => (Key: ("node-b", g.Index), g.MemoryTotalMiB)))
            .ToDictionary(x => x.Key, x => x.MemoryTotalMiB);
        long[] sizes = [512, 1 * GiB, 4 * GiB, 10 * GiB, 20 * GiB, 24 * GiB, 40 * GiB, 80 * GiB];
        int[] computes = [5, 10, 25, 50, 100];
        var granted = 0;
        var refused = 0;

        for (var op = 0; op < 4000; op++)
        {
            var held = _leases.Snapshot();
            if (held.Count > 0 && random.Next(100) < 40)
            {
                _leases.Remove(held[random.Next(held.Count)].LeaseId);
            }
            else
            {
                var request = new SliceRequest(sizes[random.Next(sizes.Length)], computes[random.Next(computes.Length)]);
                var result = _leases.Reserve($"kernel-{op}", "alice", request);
                if (result.Lease is null)
                {
                    refused++;
                    Assert.DoesNotContain(capacity, gpu =>
                        gpu.Value - held.Where(l => (l.NodeId, l.Gpu.Index) == gpu.Key).Sum(l => l.MemoryMiB) >= request.MemoryMiB
                        && held.Where(l => (l.NodeId, l.Gpu.Index) == gpu.Key).Sum(l => l.ComputePercent) + request.ComputePercent <= 100);
                }
                else
                {
                    granted++;
                }
            }

            foreach (var gpu in _leases.Snapshot().GroupBy(l => (l.NodeId, l.Gpu.Index)))
            {
                Assert.True(gpu.Sum(l => l.MemoryMiB) <= capacity[gpu.Key], $"op {op}: GPU {gpu.Key} over-allocated memory");
                Assert.True(gpu.Sum(l => l.ComputePercent) <= 100, $"op {op}: GPU {gpu.Key} over-allocated compute");
            }
        }

        // Both paths were exercised, or the loop proves little.
        Assert.True(granted > 500, $"granted {granted}");
        Assert.True(refused > 100, $"refused {refused}");
    }

    [Fact]
    public async Task Reserve_FromManyThreadsAtOnce_NeverOverAllocates()
    {
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80), Gpu(1, 40)]));
        using var start = new ManualResetEventSlim();

        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(() =>
        {
            start.Wait(TimeSpan.FromSeconds(10));
            for (var i = 0; i < 200; i++)
            {
                if (_leases.Reserve($"kernel-{w}-{i}", "alice", new SliceRequest(3 * GiB, 3)).Lease is { } lease && i % 2 == 0)
                {
                    _leases.Remove(lease.LeaseId);
                }
            }
        })).ToList();
        start.Set();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));

        var byGpu = _leases.Snapshot().GroupBy(l => l.Gpu.Index).ToDictionary(g => g.Key, g => (Memory: g.Sum(l => l.MemoryMiB), Compute: g.Sum(l => l.ComputePercent)));
        Assert.True(byGpu.GetValueOrDefault(0).Memory <= 80 * GiB);
        Assert.True(byGpu.GetValueOrDefault(1).Memory <= 40 * GiB);
        Assert.All(byGpu.Values, g => Assert.True(g.Compute <= 100));
        // 80 GiB / 3 GiB and 100% / 3% both cap a GPU at 26 and 33 slices: the pool ends up full.
        Assert.Equal(26 + 13, byGpu.Values.Sum(g => g.Memory) / (3 * GiB));
    }

    [Fact]
    public void Reserve_Epochs_StrictlyIncrease()
    {
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));
        var epochs = new List<long>();

        for (var i = 0; i < 20; i++)
        {
            var lease = _leases.Reserve($"kernel-{i}", "alice", new SliceRequest(4 * GiB, 5)).Lease!;
            epochs.Add(lease.Epoch);
            if (i % 3 == 0)
            {
                _leases.Remove(lease.LeaseId);
            }
        }

        Assert.All(epochs.Zip(epochs.Skip(1)), pair => Assert.True(pair.Second > pair.First, $"{pair.Second} after {pair.First}"));
    }

    [Fact]
    public void Reserve_AfterAdoptingAnOrphanWithAHigherEpoch_EpochsKeepIncreasing()
    {
        var gpu = Gpu(0, 80);
        _nodes.Record(Heartbeat("node-a", [gpu]));
        var before = _leases.Reserve("kernel-1", "alice", TwentyGiB).Lease!;
        _leases.SetStatus(before.LeaseId, LeaseStatus.Bound);
        _leases.Reconcile(Heartbeat("node-a", [gpu], [Binding(before.LeaseId, before.Epoch, gpu, 20 * GiB), Binding("lease-from-before-restart", 1000, gpu, 4 * GiB)]));

        var after = _leases.Reserve("kernel-2", "alice", TwentyGiB).Lease!;

        Assert.True(after.Epoch > 1000, $"epoch {after.Epoch}");
    }

    [Fact]
    public void Reconcile_ReleaseTheAgentConfirmed_FreesTheCapacity()
    {
        var gpu = Gpu(0, 80);
        _nodes.Record(Heartbeat("node-a", [gpu]));
        var whole = new SliceRequest(80 * GiB, 100);
        var lease = _leases.Reserve("kernel-1", "alice", whole).Lease!;
        _leases.SetStatus(lease.LeaseId, LeaseStatus.Releasing);

        var result = _leases.Reconcile(Heartbeat("node-a", [gpu]));

        Assert.Equal([lease.LeaseId], result.ConfirmedReleases.Select(l => l.LeaseId));
        Assert.Empty(result.ToUnbind);
        Assert.Empty(_leases.Snapshot());
        Assert.NotNull(_leases.Reserve("kernel-2", "bob", whole).Lease);
    }

    [Fact]
    public void Reconcile_ReleaseTheAgentStillHolds_StaysReservedAndIsUnboundAgain()
    {
        var gpu = Gpu(0, 80);
        _nodes.Record(Heartbeat("node-a", [gpu]));
        var whole = new SliceRequest(80 * GiB, 100);
        var lease = _leases.Reserve("kernel-1", "alice", whole).Lease!;
        _leases.SetStatus(lease.LeaseId, LeaseStatus.Releasing);

        var result = _leases.Reconcile(Heartbeat("node-a", [gpu], [Binding(lease.LeaseId, lease.Epoch, gpu, 80 * GiB, 100, "kernel-1")]));

        Assert.Empty(result.ConfirmedReleases);
        Assert.Equal([lease.LeaseId], result.ToUnbind.Select(l => l.LeaseId));
        Assert.Null(_leases.Reserve("kernel-2", "bob", whole).Lease);
    }

    [Fact]
    public void Reconcile_BoundLeaseTheAgentHolds_IsLeftAlone()
    {
        var gpu = Gpu(0, 80);
        _nodes.Record(Heartbeat("node-a", [gpu]));
        var lease = _leases.Reserve("kernel-1", "alice", TwentyGiB).Lease!;
        _leases.SetStatus(lease.LeaseId, LeaseStatus.Bound);

        var result = _leases.Reconcile(Heartbeat("node-a", [gpu], [Binding(lease.LeaseId, lease.Epoch, gpu, 20 * GiB, 25, "kernel-1")]));

        Assert.Empty(result.ConfirmedReleases);
        Assert.Empty(result.ToUnbind);
        var kept = Assert.Single(_leases.Snapshot());
        Assert.Equal((lease.LeaseId, LeaseStatus.Bound, "alice"), (kept.LeaseId, kept.Status, kept.Owner));
    }

    [Fact]
    public void Reconcile_BindingTheBrokerDoesNotKnow_IsAdoptedAsBoundWithItsOwnerAndItsCapacityStaysTaken()
    {
        var gpu = Gpu(0, 80);
        _nodes.Record(Heartbeat("node-a", [gpu]));

        var result = _leases.Reconcile(Heartbeat("node-a", [gpu], [Binding("lease-from-before-restart", 7, gpu, 70 * GiB, 50, "kernel-old", owner: "ada")]));

        Assert.Empty(result.ToUnbind);
        var adopted = Assert.Single(result.Adopted);
        Assert.Equal(("lease-from-before-restart", 7L, "kernel-old", "ada", LeaseStatus.Bound, 70 * GiB), (adopted.LeaseId, adopted.Epoch, adopted.KernelId, adopted.Owner, adopted.Status, adopted.MemoryMiB));
        Assert.Equal((new Uri("http://node-a:7070/"), Epoch), (adopted.AgentUrl, adopted.Since));
        Assert.Same(adopted, Assert.Single(_leases.Snapshot()));
        var refused = _leases.Reserve("kernel-new", "alice", TwentyGiB);
        Assert.Null(refused.Lease);
        Assert.Contains("largest free: 10 GiB", refused.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Reconcile_AdoptedBindingReportedAgain_IsLeftAlone()
    {
        var gpu = Gpu(0, 80);
        _nodes.Record(Heartbeat("node-a", [gpu]));
        var heartbeat = Heartbeat("node-a", [gpu], [Binding("lease-from-before-restart", 7, gpu, 70 * GiB, 50)]);
        _leases.Reconcile(heartbeat);

        var again = _leases.Reconcile(heartbeat);

        Assert.Equal((0, 0, 0), (again.Adopted.Count, again.ToUnbind.Count, again.ConfirmedReleases.Count));
        Assert.Equal(LeaseStatus.Bound, Assert.Single(_leases.Snapshot()).Status);
    }

    [Fact]
    public void Reconcile_BindingWithoutOwner_IsAdoptedForTheUnknownOwner()
    {
        var gpu = Gpu(0, 80);
        _nodes.Record(Heartbeat("node-a", [gpu]));

        var result = _leases.Reconcile(Heartbeat("node-a", [gpu], [Binding("lease-old-agent", 2, gpu, 4 * GiB, owner: "")]));

        Assert.Equal(LeaseTable.UnknownOwner, Assert.Single(result.Adopted).Owner);
    }

    [Fact]
    public void Reconcile_AdoptedLeaseReleasedAndConfirmedGone_FreesTheCapacity()
    {
        var gpu = Gpu(0, 80);
        _nodes.Record(Heartbeat("node-a", [gpu]));
        _leases.Reconcile(Heartbeat("node-a", [gpu], [Binding("lease-from-before-restart", 7, gpu, 70 * GiB, 50)]));
        _leases.SetStatus("lease-from-before-restart", LeaseStatus.Releasing);

        var result = _leases.Reconcile(Heartbeat("node-a", [gpu]));

        Assert.Equal(["lease-from-before-restart"], result.ConfirmedReleases.Select(l => l.LeaseId));
        Assert.NotNull(_leases.Reserve("kernel-new", "alice", TwentyGiB).Lease);
    }

    [Fact]
    public void Reconcile_HeartbeatSentBeforeAnUnbindArrivesAfterIt_IsUnboundAgainNotAdopted()
    {
        var gpu = Gpu(0, 80);
        _nodes.Record(Heartbeat("node-a", [gpu]));
        var lease = _leases.Reserve("kernel-1", "alice", TwentyGiB).Lease!;
        _leases.SetStatus(lease.LeaseId, LeaseStatus.Bound);
        var staleHeartbeat = Heartbeat("node-a", [gpu], [Binding(lease.LeaseId, lease.Epoch, gpu, 20 * GiB, owner: "alice")]);
        _leases.Remove(lease.LeaseId);

        var result = _leases.Reconcile(staleHeartbeat);

        Assert.Empty(result.Adopted);
        var again = Assert.Single(result.ToUnbind);
        Assert.Equal((lease.LeaseId, LeaseStatus.Releasing), (again.LeaseId, again.Status));
    }

    [Fact]
    public void Reconcile_LeaseRemovedLongAgo_IsAdoptedAgain()
    {
        // Past the memory of removals the binding can only come from an agent the broker lost track of.
        var gpu = Gpu(0, 80);
        _nodes.Record(Heartbeat("node-a", [gpu]));
        var lease = _leases.Reserve("kernel-1", "alice", TwentyGiB).Lease!;
        _leases.Remove(lease.LeaseId);
        _time.Advance(LeaseTable.RemovedLeaseMemory + TimeSpan.FromSeconds(1));
        _nodes.Record(Heartbeat("node-a", [gpu]));

        var result = _leases.Reconcile(Heartbeat("node-a", [gpu], [Binding(lease.LeaseId, lease.Epoch, gpu, 20 * GiB, owner: "alice")]));

        Assert.Equal(lease.LeaseId, Assert.Single(result.Adopted).LeaseId);
    }

    [Fact]
    public void Reconcile_OnlyTouchesTheReportingNode()
    {
        var gpu = Gpu(0, 80);
        _nodes.Record(Heartbeat("node-a", [gpu]));
        var onA = _leases.Reserve("kernel-1", "alice", new SliceRequest(80 * GiB, 100)).Lease!;
        _leases.SetStatus(onA.LeaseId, LeaseStatus.Releasing);
        _nodes.Record(Heartbeat("node-b", [gpu]));

        var result = _leases.Reconcile(Heartbeat("node-b", [gpu]));

        Assert.Empty(result.ConfirmedReleases);
        Assert.Single(_leases.Snapshot());
    }
}
