using Attach.Broker.Scheduling;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Broker.Tests.Scheduling;

/// <summary>
/// Random sequences of submit, release, cancel, agent death and time passing, run on the real scheduler: after every
/// step no GPU holds more memory or compute than it has, no MIG instance is shared, and the scheduler's slices are
/// exactly the ones handed out and not yet released or reclaimed; at the end, releasing everything serves every waiter.
/// </summary>
public sealed class PoolSchedulerPropertyTests
{
    private const long GiB = 1024;

    private static readonly Dictionary<(string Node, int Gpu, int? Mig), (long MemoryMiB, bool Mig)> Capacity = new()
    {
        [("node-a", 0, null)] = (80 * GiB, false),
        [("node-a", 1, null)] = (40 * GiB, false),
        [("node-b", 0, 0)] = (10 * GiB, true),
        [("node-b", 0, 1)] = (20 * GiB, true),
        [("node-b", 0, 2)] = (40 * GiB, true),
        [("node-b", 1, null)] = (80 * GiB, false),
    };

    private static readonly string[] Users = ["ada", "grace", "linus", "quota-bound"];

    [Property(MaxTest = 300)]
    public void RandomOperations_KeepThePoolConsistentAndServeEveryWaiter(int[] operations)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 8, 0, 0, TimeSpan.Zero));
        var settings = new SchedulerSettings
        {
            UserQuotas = new Dictionary<string, SliceQuota> { ["quota-bound"] = new() { MaxSlices = 2 } },
            MaxBlockedPerPass = 4,
        };
        var scheduler = new PoolScheduler(settings, time);
        AddNodes(scheduler);
        var live = new Dictionary<string, SliceAllocation>(StringComparer.Ordinal);
        var waiting = new HashSet<string>(StringComparer.Ordinal);
        var served = new HashSet<string>(StringComparer.Ordinal);
        var next = 0;

        foreach (var op in operations ?? [])
        {
            // FsCheck's ints are small; spread them so every parameter below varies.
            var mixed = unchecked((uint)op * 2654435761u);
            var kind = (int)(mixed % 6);
            var p = (int)(mixed >> 8);
            var placed = new List<SliceAllocation>();
            switch (kind)
            {
                case 0 or 1:
                    var kernel = $"k{next++}";
                    var demand = new SliceDemand(
                        $"lease-{kernel}",
                        kernel,
                        Users[p % Users.Length],
                        null,
                        kind == 0 ? PriorityClass.Interactive : PriorityClass.Batch,
                        (p / 4 % 5) switch { 0 => 5 * GiB, 1 => 10 * GiB, 2 => 20 * GiB, 3 => 40 * GiB, _ => 80 * GiB },
                        (p / 20 % 3) switch { 0 => 25, 1 => 50, _ => 75 },
                        GpuFraction: p / 60 % 5 == 0 ? 0.5 : null,
                        PreferredNodeId: p / 300 % 3 == 0 ? "node-b" : null);
                    var result = scheduler.Submit(demand, placed);
                    Assert.NotEqual(SubmitOutcome.Refused, result.Outcome);
                    if (result.Allocation is { } now)
                    {
                        placed.Add(now);
                    }
                    else
                    {
                        waiting.Add(kernel);
                    }

                    break;
                case 2 when live.Count > 0:
                    var release = live.Keys.Order(StringComparer.Ordinal).ElementAt(p % live.Count);
                    Assert.True(scheduler.Release(release, placed));
                    live.Remove(release);
                    break;
                case 3 when waiting.Count > 0:
                    var cancel = waiting.Order(StringComparer.Ordinal).ElementAt(p % waiting.Count);
                    Assert.True(scheduler.Cancel(cancel, placed));
                    waiting.Remove(cancel);
                    break;
                case 4:
                    // The agent dies: its slices are reclaimed; it comes back empty.
                    var node = p % 2 == 0 ? "node-a" : "node-b";
                    var reclaimed = new List<SliceAllocation>();
                    scheduler.RemoveNode(node, reclaimed, placed);
                    foreach (var gone in reclaimed)
                    {
                        Assert.Equal(node, gone.NodeId);
                        Assert.True(live.Remove(gone.AllocationId));
                    }

                    Assert.DoesNotContain(live.Values, l => l.NodeId == node);
                    AddNodes(scheduler, node, placed);
                    break;
                default:
                    time.Advance(TimeSpan.FromSeconds(p % 600));
                    break;
            }

            Record(placed, live, waiting, served);
            CheckInvariants(scheduler, live, waiting);
        }

        // Give everything back, oldest first: every request still waiting must be served on the way.
        for (var rounds = 0; live.Count > 0; rounds++)
        {
            Assert.True(rounds < 10_000, "the drain does not end");
            var placed = new List<SliceAllocation>();
            var oldest = live.Values.OrderBy(l => l.PlacedAt).ThenBy(l => l.AllocationId, StringComparer.Ordinal).First();
            Assert.True(scheduler.Release(oldest.AllocationId, placed));
            live.Remove(oldest.AllocationId);
            Record(placed, live, waiting, served);
            CheckInvariants(scheduler, live, waiting);
        }

        Assert.Empty(waiting);
        Assert.Equal(0, scheduler.WaiterCount);
        Assert.Equal(0, scheduler.AllocationCount);
    }

    [Property(MaxTest = 100)]
    public void InteractiveWaiter_IsServedBeforeEveryBatchWaiterThatNeedsNoMoreRoom(int[] batchSizes)
    {
        var time = new FakeTimeProvider();
        var scheduler = new PoolScheduler(new SchedulerSettings(), time);
        scheduler.UpsertNode("node-a", [new GpuCapacity(0, 80 * GiB)]);
        var holder = scheduler.Submit(new SliceDemand("lease-hold", "hold", "holder", null, PriorityClass.Batch, 80 * GiB, 100)).Allocation!;
        var n = 0;
        foreach (var size in batchSizes ?? [])
        {
            scheduler.Submit(new SliceDemand($"lease-b{n}", $"b{n}", $"user-{n % 3}", null, PriorityClass.Batch, (1 + Math.Abs(size % 80)) * GiB, 1));
            n++;
        }

        scheduler.Submit(new SliceDemand("lease-i", "interactive", "late", null, PriorityClass.Interactive, 80 * GiB, 100));
        var placed = new List<SliceAllocation>();
        scheduler.Release(holder.AllocationId, placed);

        // It arrived last and needs the whole GPU, yet it goes first.
        Assert.Equal("interactive", Assert.Single(placed).KernelId);
    }

    private static void AddNodes(PoolScheduler scheduler, string? only = null, List<SliceAllocation>? placed = null)
    {
        if (only is null or "node-a")
        {
            scheduler.UpsertNode("node-a", [new GpuCapacity(0, 80 * GiB), new GpuCapacity(1, 40 * GiB)], placed);
        }

        if (only is null or "node-b")
        {
            scheduler.UpsertNode("node-b", [new GpuCapacity(0, 80 * GiB, [new MigSlice(0, 10 * GiB), new MigSlice(1, 20 * GiB), new MigSlice(2, 40 * GiB)]), new GpuCapacity(1, 80 * GiB)], placed);
        }
    }

    private static void Record(List<SliceAllocation> placed, Dictionary<string, SliceAllocation> live, HashSet<string> waiting, HashSet<string> served)
    {
        foreach (var allocation in placed)
        {
            Assert.True(served.Add(allocation.KernelId), $"{allocation.KernelId} was placed twice");
            live.Add(allocation.AllocationId, allocation);
            waiting.Remove(allocation.KernelId);
        }
    }

    private static void CheckInvariants(PoolScheduler scheduler, Dictionary<string, SliceAllocation> live, HashSet<string> waiting)
    {
        var held = scheduler.Allocations();
        Assert.Equal(live.Keys.Order(StringComparer.Ordinal), held.Select(a => a.AllocationId).Order(StringComparer.Ordinal));
        foreach (var unit in held.GroupBy(a => (a.NodeId, a.GpuIndex, a.MigIndex)))
        {
            var (memory, mig) = Capacity[unit.Key];
            Assert.True(unit.Sum(a => a.MemoryMiB) <= memory, $"{unit.Key} holds {unit.Sum(a => a.MemoryMiB)} MiB of {memory}");
            Assert.True(unit.Sum(a => a.ComputePercent) <= 100, $"{unit.Key} holds {unit.Sum(a => a.ComputePercent)}% compute");
            if (mig)
            {
                Assert.Single(unit);
            }
        }

        Assert.Equal(waiting.Count, scheduler.WaiterCount);
        Assert.All(waiting, kernel => Assert.True(scheduler.IsWaiting(kernel)));
        Assert.True(held.Count(a => a.User == "quota-bound") <= 2);
    }
}
