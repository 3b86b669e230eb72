using Attach.Broker.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Broker.Tests.Scheduling;

public sealed class PoolSchedulerTests
{
    private const long Gpu80 = 81920;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero));
    private int _ids;

    private PoolScheduler NewScheduler(SchedulerSettings? settings = null, int gpus = 1, string node = "node-a")
    {
        var scheduler = new PoolScheduler(settings ?? new SchedulerSettings(), _time);
        scheduler.UpsertNode(node, [.. Enumerable.Range(0, gpus).Select(i => new GpuCapacity(i, Gpu80))]);
        return scheduler;
    }

    private SliceDemand Demand(string kernel, string user = "alice", long memoryMiB = 40960, PriorityClass priority = PriorityClass.Interactive, string? group = null) =>
        new($"lease-{++_ids}", kernel, user, group, priority, memoryMiB, 25);

    [Fact]
    public void Submit_WithRoom_PlacesOnTheGpuAlreadySharedThatFitsBest()
    {
        var scheduler = NewScheduler(gpus: 3);
        var first = scheduler.Submit(Demand("k1", memoryMiB: 20480));

        var second = scheduler.Submit(Demand("k2", memoryMiB: 20480));

        Assert.Equal(SubmitOutcome.Placed, first.Outcome);
        Assert.Equal(SubmitOutcome.Placed, second.Outcome);
        Assert.Equal(first.Allocation!.GpuIndex, second.Allocation!.GpuIndex);
    }

    [Fact]
    public void Submit_BestFit_KeepsTheLargeHoleFree()
    {
        var scheduler = NewScheduler(gpus: 2);
        Assert.Equal(0, scheduler.Submit(Demand("k1", memoryMiB: 61440)).Allocation!.GpuIndex);

        var small = scheduler.Submit(Demand("k2", memoryMiB: 10240));
        var large = scheduler.Submit(Demand("k3", memoryMiB: 81920));

        Assert.Equal(0, small.Allocation!.GpuIndex);
        Assert.Equal(SubmitOutcome.Placed, large.Outcome);
        Assert.Equal(1, large.Allocation!.GpuIndex);
    }

    [Fact]
    public void Submit_PoolFull_QueuesAndReleaseServesTheWaitersFirstComeFirstServed()
    {
        var scheduler = NewScheduler();
        var held = scheduler.Submit(Demand("k1", memoryMiB: Gpu80)).Allocation!;

        var second = scheduler.Submit(Demand("k2", "bob"));
        var third = scheduler.Submit(Demand("k3", "carol"));
        var placed = new List<SliceAllocation>();
        scheduler.Release(held.AllocationId, placed);

        Assert.Equal(SubmitOutcome.Queued, second.Outcome);
        Assert.Contains("waiting for a slice to be released", second.Reason, StringComparison.Ordinal);
        Assert.Equal(SubmitOutcome.Queued, third.Outcome);
        Assert.Equal(["k2", "k3"], placed.Select(p => p.KernelId));
        Assert.Equal(0, scheduler.WaiterCount);
    }

    [Fact]
    public void Release_InteractiveWaitersGoBeforeEarlierBatchWaiters()
    {
        var scheduler = NewScheduler();
        var held = scheduler.Submit(Demand("k1", memoryMiB: Gpu80)).Allocation!;
        scheduler.Submit(Demand("batch", "bob", Gpu80, PriorityClass.Batch));
        scheduler.Submit(Demand("interactive", "carol", Gpu80));

        var placed = new List<SliceAllocation>();
        scheduler.Release(held.AllocationId, placed);

        Assert.Equal("interactive", Assert.Single(placed).KernelId);
        Assert.Equal(["batch"], scheduler.Waiters().Select(w => w.KernelId));
    }

    [Fact]
    public void Release_WhenContended_ServesTheUserHoldingFewerSlicesFirst()
    {
        var scheduler = NewScheduler(gpus: 2);
        var aliceFirst = scheduler.Submit(Demand("a0", "alice", Gpu80)).Allocation!;
        scheduler.Submit(Demand("a1", "alice", Gpu80));
        scheduler.Submit(Demand("a2", "alice", Gpu80));
        scheduler.Submit(Demand("c1", "carol", Gpu80));

        var order = scheduler.Waiters();
        var placed = new List<SliceAllocation>();
        scheduler.Release(aliceFirst.AllocationId, placed);

        // alice asked first but still holds a slice; carol holds none, so she goes first.
        Assert.Equal(["c1", "a2"], order.Select(w => w.KernelId));
        Assert.Equal("c1", Assert.Single(placed).KernelId);
    }

    [Fact]
    public void Submit_AtTheUsersSliceQuota_WaitsUntilOneOfTheirsIsReleased()
    {
        var settings = new SchedulerSettings { UserQuotas = new Dictionary<string, SliceQuota> { ["alice"] = new() { MaxSlices = 1 } } };
        var scheduler = NewScheduler(settings, gpus: 2);
        var first = scheduler.Submit(Demand("a1", memoryMiB: 10240)).Allocation!;

        var second = scheduler.Submit(Demand("a2", memoryMiB: 10240));
        var bob = scheduler.Submit(Demand("b1", "bob", 10240));
        var placed = new List<SliceAllocation>();
        scheduler.Release(first.AllocationId, placed);

        Assert.Equal(SubmitOutcome.Queued, second.Outcome);
        Assert.Contains("the most allowed at once", second.Reason, StringComparison.Ordinal);
        Assert.Equal(SubmitOutcome.Placed, bob.Outcome);
        Assert.Equal("a2", Assert.Single(placed).KernelId);
    }

    [Fact]
    public void Submit_AtTheGroupsSliceQuota_Waits()
    {
        var settings = new SchedulerSettings { GroupQuotas = new Dictionary<string, SliceQuota> { ["ml"] = new() { MaxSlices = 1 } } };
        var scheduler = NewScheduler(settings, gpus: 2);
        scheduler.Submit(Demand("a1", "alice", 10240, group: "ml"));

        var bob = scheduler.Submit(Demand("b1", "bob", 10240, group: "ml"));

        Assert.Equal(SubmitOutcome.Queued, bob.Outcome);
        Assert.Contains("group ml", bob.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Submit_AfterTheDailyGpuHoursAreUsed_IsRefusedUntilMidnight()
    {
        var settings = new SchedulerSettings { DefaultUserQuota = new() { GpuHoursPerDay = 1 } };
        var scheduler = NewScheduler(settings);
        var half = scheduler.Submit(Demand("k1", memoryMiB: Gpu80 / 2)).Allocation!;
        _time.Advance(TimeSpan.FromHours(1));
        var stillAllowed = scheduler.Submit(Demand("k2", memoryMiB: 1024));
        scheduler.Release(stillAllowed.Allocation!.AllocationId);
        _time.Advance(TimeSpan.FromHours(1.01));

        var refused = scheduler.Submit(Demand("k3", memoryMiB: 1024));
        scheduler.Release(half.AllocationId);
        _time.Advance(TimeSpan.FromHours(14));
        var nextDay = scheduler.Submit(Demand("k4", memoryMiB: 1024));

        Assert.Equal(SubmitOutcome.Placed, stillAllowed.Outcome);
        Assert.Equal(SubmitOutcome.Refused, refused.Outcome);
        Assert.Contains("GPU-hours", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(SubmitOutcome.Placed, nextDay.Outcome);
    }

    [Fact]
    public void UsageToday_CountsSlicesByTheirShareOfTheGpu()
    {
        var scheduler = NewScheduler();
        var quarter = scheduler.Submit(Demand("k1", memoryMiB: Gpu80 / 4)).Allocation!;
        _time.Advance(TimeSpan.FromHours(2));
        scheduler.Release(quarter.AllocationId);
        scheduler.Submit(Demand("k2", memoryMiB: Gpu80 / 2));
        _time.Advance(TimeSpan.FromHours(1));

        var usage = scheduler.UsageToday();

        Assert.Equal(3600, usage["alice"], precision: 6);
    }

    [Fact]
    public void Submit_LargerThanAnyGpu_IsRefusedWithTheLargestSize()
    {
        var scheduler = NewScheduler();

        var result = scheduler.Submit(Demand("k1", memoryMiB: Gpu80 + 1));

        Assert.Equal(SubmitOutcome.Refused, result.Outcome);
        Assert.Contains("80 GiB", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Submit_WithoutNodes_IsRefusedSayingToCheckTheAgent()
    {
        var scheduler = new PoolScheduler(new SchedulerSettings(), _time);

        var result = scheduler.Submit(Demand("k1"));

        Assert.Equal(SubmitOutcome.Refused, result.Outcome);
        Assert.Contains("no GPU node is registered", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Submit_SameKernelWhileWaiting_KeepsItsPlace()
    {
        var scheduler = NewScheduler();
        scheduler.Submit(Demand("k1", memoryMiB: Gpu80));
        scheduler.Submit(Demand("k2", "bob"));
        scheduler.Submit(Demand("k3", "carol"));

        var again = scheduler.Submit(Demand("k2", "bob"));

        Assert.Equal(SubmitOutcome.Queued, again.Outcome);
        Assert.Equal(["k2", "k3"], scheduler.Waiters().Select(w => w.KernelId));
    }

    [Fact]
    public void Cancel_RemovesTheWaiterAndTheOthersMoveUp()
    {
        var scheduler = NewScheduler();
        var held = scheduler.Submit(Demand("k1", memoryMiB: Gpu80)).Allocation!;
        scheduler.Submit(Demand("k2", "bob"));
        scheduler.Submit(Demand("k3", "carol"));

        Assert.True(scheduler.Cancel("k2"));
        var waiters = scheduler.Waiters();
        var placed = new List<SliceAllocation>();
        scheduler.Release(held.AllocationId, placed);

        var only = Assert.Single(waiters);
        Assert.Equal(("k3", 1, 1), (only.KernelId, only.Position, only.QueueLength));
        Assert.Equal("k3", Assert.Single(placed).KernelId);
        Assert.False(scheduler.Cancel("k2"));
    }

    [Fact]
    public void Waiters_EtaFollowsIdleReleaseTimesThenTheAverageHold()
    {
        var settings = new SchedulerSettings { InitialHoldEstimate = TimeSpan.FromMinutes(10) };
        var scheduler = NewScheduler(settings);
        var a = scheduler.Submit(Demand("k1", memoryMiB: Gpu80 / 2)).Allocation!;
        var b = scheduler.Submit(Demand("k2", "bob", Gpu80 / 2)).Allocation!;
        scheduler.SetExpectedRelease(a.AllocationId, _time.GetUtcNow().AddSeconds(40));
        scheduler.SetExpectedRelease(b.AllocationId, _time.GetUtcNow().AddSeconds(90));
        scheduler.Submit(Demand("w1", "carol", Gpu80 / 2));
        scheduler.Submit(Demand("w2", "dave", Gpu80 / 2));
        scheduler.Submit(Demand("w3", "erin", Gpu80 / 2));

        var waiters = scheduler.Waiters();

        Assert.Equal([1, 2, 3], waiters.Select(w => w.Position));
        Assert.All(waiters, w => Assert.Equal(3, w.QueueLength));
        Assert.Equal([40.0, 90.0, 640.0], waiters.Select(w => w.EtaSeconds!.Value));
    }

    [Fact]
    public void Release_UpdatesTheMovingAverageOfHoldTimes()
    {
        var scheduler = NewScheduler(new SchedulerSettings { InitialHoldEstimate = TimeSpan.FromSeconds(100) });
        var held = scheduler.Submit(Demand("k1")).Allocation!;
        _time.Advance(TimeSpan.FromSeconds(200));

        scheduler.Release(held.AllocationId);

        Assert.Equal(120, scheduler.AverageHold.TotalSeconds, precision: 6);
    }

    [Fact]
    public void Submit_MigGpu_GivesOneInstanceWholeToOneKernel()
    {
        var scheduler = new PoolScheduler(new SchedulerSettings(), _time);
        scheduler.UpsertNode("node-a", [new GpuCapacity(0, Gpu80, [new MigSlice(0, 10240), new MigSlice(1, 40960)])]);

        var small = scheduler.Submit(Demand("k1", memoryMiB: 5120));
        var next = scheduler.Submit(Demand("k2", "bob", 5120));
        var third = scheduler.Submit(Demand("k3", "carol", 5120));

        Assert.Equal((0, (int?)0, 10240L, 100), (small.Allocation!.GpuIndex, small.Allocation.MigIndex, small.Allocation.MemoryMiB, small.Allocation.ComputePercent));
        Assert.Equal(1, next.Allocation!.MigIndex);
        Assert.Equal(SubmitOutcome.Queued, third.Outcome);
    }

    [Fact]
    public void Submit_Resume_GoesBackToTheSameGpuWhenItFits()
    {
        var scheduler = NewScheduler(gpus: 4);
        scheduler.Submit(Demand("k0", memoryMiB: 40960));

        var resume = scheduler.Submit(Demand("k1", memoryMiB: 20480) with { PreferredNodeId = "node-a", PreferredGpuIndex = 3 });

        Assert.Equal(3, resume.Allocation!.GpuIndex);
    }

    [Fact]
    public void Submit_PrefersTheKernelsNodeOverABetterFitElsewhere()
    {
        var scheduler = NewScheduler();
        scheduler.UpsertNode("node-b", [new GpuCapacity(0, Gpu80)]);
        scheduler.Submit(Demand("k0", memoryMiB: 61440));

        var placed = scheduler.Submit(Demand("k1", memoryMiB: 10240) with { PreferredNodeId = "node-b" });

        Assert.Equal("node-b", placed.Allocation!.NodeId);
    }

    [Fact]
    public void Submit_HalfProfile_TakesHalfOfTheGpuItLandsOn()
    {
        var scheduler = new PoolScheduler(new SchedulerSettings(), _time);
        scheduler.UpsertNode("node-a", [new GpuCapacity(0, 40960)]);

        var half = scheduler.Submit(Demand("k1") with { GpuFraction = 0.5, ComputePercent = 50 });

        Assert.Equal(20480, half.Allocation!.MemoryMiB);
    }

    [Fact]
    public void Release_ALargeWaiterIsNotStarvedByLaterSmallRequests()
    {
        var scheduler = NewScheduler();
        var a = scheduler.Submit(Demand("small-1", "u1", 40960)).Allocation!;
        scheduler.Submit(Demand("small-2", "u2", 40960));
        scheduler.Submit(Demand("large", "big", Gpu80));

        scheduler.Release(a.AllocationId);
        var later = scheduler.Submit(Demand("small-3", "u3", 40960));

        // The freed half is kept for the large request instead of going to the later small one.
        Assert.Equal(SubmitOutcome.Queued, later.Outcome);
        Assert.Equal(["large", "small-3"], scheduler.Waiters().Select(w => w.KernelId));
    }

    [Fact]
    public void Adopt_BeforeTheNodeReports_TakesCapacityOnceItDoes()
    {
        var scheduler = new PoolScheduler(new SchedulerSettings(), _time);
        Assert.True(scheduler.Adopt(new SliceAllocation("lease-old", "k0", "alice", null, PriorityClass.Interactive, "node-a", 0, null, 61440, 25, Gpu80, _time.GetUtcNow(), _time.GetUtcNow())));

        scheduler.UpsertNode("node-a", [new GpuCapacity(0, Gpu80)]);
        var result = scheduler.Submit(Demand("k1", memoryMiB: 40960));

        Assert.Equal(SubmitOutcome.Queued, result.Outcome);
        Assert.False(scheduler.Adopt(new SliceAllocation("lease-old", "k0", "alice", null, PriorityClass.Interactive, "node-a", 0, null, 1, 1, Gpu80, _time.GetUtcNow(), _time.GetUtcNow())));
    }

    [Fact]
    public void RemoveNode_ReclaimsItsSlicesAndServesWaitersElsewhere()
    {
        var scheduler = NewScheduler();
        scheduler.UpsertNode("node-b", [new GpuCapacity(0, Gpu80)]);
        var onA = scheduler.Submit(Demand("k1", memoryMiB: Gpu80) with { RequiredNodeId = "node-a" }).Allocation!;
        scheduler.Submit(Demand("k2", "bob", Gpu80) with { RequiredNodeId = "node-b" });
        scheduler.Submit(Demand("k3", "carol", Gpu80));

        var reclaimed = new List<SliceAllocation>();
        scheduler.RemoveNode("node-a", reclaimed);

        Assert.Equal(onA, Assert.Single(reclaimed));
        Assert.Null(scheduler.Allocation(onA.AllocationId));
        Assert.Equal(0, scheduler.HeldBy("alice"));
        Assert.Equal(SubmitOutcome.Refused, scheduler.Submit(Demand("k4", memoryMiB: 1) with { RequiredNodeId = "node-a" }).Outcome);
    }

    [Fact]
    public void SetNodeOnline_OfflineNodeGetsNothingAndServesWaitersWhenBack()
    {
        var scheduler = NewScheduler();
        scheduler.SetNodeOnline("node-a", online: false);
        scheduler.UpsertNode("node-b", [new GpuCapacity(0, 1024)]);

        var queued = scheduler.Submit(Demand("k1", memoryMiB: 40960));
        var placed = new List<SliceAllocation>();
        scheduler.SetNodeOnline("node-a", online: true, placed);

        Assert.Equal(SubmitOutcome.Queued, queued.Outcome);
        Assert.Equal("node-a", Assert.Single(placed).NodeId);
    }
}
