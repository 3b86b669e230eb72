using Attach.Broker.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Broker.Tests.Scheduling;

/// <summary>Which batch slices an interactive request that waits may suspend, per policy: pure, on a fake clock.</summary>
public sealed class PoolSchedulerPreemptionTests
{
    private const long GiB = 1024;
    private static readonly PreemptionOptions Policy = new() { Mode = PreemptionMode.SuspendBatch, OlderThan = TimeSpan.FromMinutes(10), BatchMinimumHold = TimeSpan.FromMinutes(2) };

    private readonly FakeTimeProvider _time = new();
    private readonly PoolScheduler _scheduler;

    public PoolSchedulerPreemptionTests()
    {
        _scheduler = new PoolScheduler(new SchedulerSettings(), _time);
        _scheduler.UpsertNode("node-a", [new GpuCapacity(0, 80 * GiB), new GpuCapacity(1, 80 * GiB)]);
    }

    private SliceAllocation? Hold(string kernel, long gib, PriorityClass priority = PriorityClass.Batch, int compute = 10) =>
        _scheduler.Submit(new SliceDemand($"lease-{kernel}", kernel, $"user-{kernel}", null, priority, gib * GiB, compute)).Allocation;

    private void Wait(string kernel, long gib, PriorityClass priority = PriorityClass.Interactive, string? node = null) =>
        Assert.Equal(SubmitOutcome.Queued, _scheduler.Submit(new SliceDemand($"lease-{kernel}", kernel, "ada", null, priority, gib * GiB, 10, RequiredNodeId: node)).Outcome);

    [Fact]
    public void InteractiveWaiter_OldBatchSlice_IsTheVictim()
    {
        Hold("batch-1", 80);
        Hold("batch-2", 80);
        _time.Advance(TimeSpan.FromMinutes(10));
        Wait("notebook", 60);

        var victims = _scheduler.PreemptionVictims("notebook", Policy);

        Assert.Single(victims);
        Assert.Equal(PriorityClass.Batch, victims[0].Priority);
    }

    [Fact]
    public void PolicyOff_NothingIsPreempted()
    {
        Hold("batch-1", 80);
        Hold("batch-2", 80);
        _time.Advance(TimeSpan.FromHours(1));
        Wait("notebook", 60);

        Assert.Empty(_scheduler.PreemptionVictims("notebook", new PreemptionOptions { Mode = PreemptionMode.Off }));
    }

    [Fact]
    public void BatchSliceYoungerThanThePolicysAge_IsNotPreempted()
    {
        Hold("batch-1", 80);
        Hold("batch-2", 80);
        _time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        Wait("notebook", 60);

        Assert.Empty(_scheduler.PreemptionVictims("notebook", Policy));
    }

    [Fact]
    public void BatchSliceWithinItsMinimumHold_IsNotPreemptedEvenWithNoAgeLimit()
    {
        Hold("batch-1", 80);
        Hold("batch-2", 80);
        _time.Advance(TimeSpan.FromMinutes(1));
        Wait("notebook", 60);
        var policy = new PreemptionOptions { Mode = PreemptionMode.SuspendBatch, OlderThan = TimeSpan.Zero, BatchMinimumHold = TimeSpan.FromMinutes(2) };

        Assert.Empty(_scheduler.PreemptionVictims("notebook", policy));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Single(_scheduler.PreemptionVictims("notebook", policy));
    }

    [Fact]
    public void FewestVictims_WinOverSmallerOnes()
    {
        // GPU 0: two 40 GiB batch slices; GPU 1: one 80 GiB batch slice.
        var a = Hold("batch-1", 40)!;
        var b = Hold("batch-2", 40)!;
        Assert.Equal(a.GpuIndex, b.GpuIndex);
        var whole = Hold("batch-3", 80)!;
        _time.Advance(TimeSpan.FromMinutes(30));
        Wait("notebook", 80);

        var victims = _scheduler.PreemptionVictims("notebook", Policy);

        Assert.Equal(whole.AllocationId, Assert.Single(victims).AllocationId);
    }

    [Fact]
    public void OnlyAsMuchAsNeeded_TheLargestEligibleFirst()
    {
        Hold("batch-1", 20);
        Hold("batch-2", 20);
        var large = Hold("batch-3", 40)!;
        Hold("batch-4", 80);
        _time.Advance(TimeSpan.FromMinutes(30));
        Wait("notebook", 40);

        var victims = _scheduler.PreemptionVictims("notebook", Policy);

        Assert.Equal(large.AllocationId, Assert.Single(victims).AllocationId);
    }

    [Fact]
    public void InteractiveSlices_AreNeverVictims()
    {
        Hold("person-1", 40, PriorityClass.Interactive);
        Hold("batch-1", 40);
        Hold("person-2", 80, PriorityClass.Interactive);
        _time.Advance(TimeSpan.FromHours(1));
        Wait("notebook", 80);

        Assert.Empty(_scheduler.PreemptionVictims("notebook", Policy));
    }

    [Fact]
    public void BatchWaiter_PreemptsNothing()
    {
        Hold("batch-1", 80);
        Hold("batch-2", 80);
        _time.Advance(TimeSpan.FromHours(1));
        Wait("batch-3", 80, PriorityClass.Batch);

        Assert.Empty(_scheduler.PreemptionVictims("batch-3", Policy));
        Assert.Empty(_scheduler.PreemptionVictims("not-waiting", Policy));
    }

    [Fact]
    public void RequiredNode_VictimsComeOnlyFromIt()
    {
        _scheduler.UpsertNode("node-b", [new GpuCapacity(0, 80 * GiB)]);
        Hold("batch-1", 80);
        Hold("batch-2", 80);
        Hold("batch-3", 80);
        _time.Advance(TimeSpan.FromHours(1));
        Wait("notebook", 80, node: "node-b");

        var victim = Assert.Single(_scheduler.PreemptionVictims("notebook", Policy));

        Assert.Equal("node-b", victim.NodeId);
    }

    [Fact]
    public void ComputeShare_CountsToo()
    {
        Hold("batch-1", 10, compute: 60);
        Hold("batch-2", 10, compute: 60);
        _time.Advance(TimeSpan.FromHours(1));
        _scheduler.Submit(new SliceDemand("lease-notebook", "notebook", "ada", null, PriorityClass.Interactive, 10 * GiB, 60));

        var victims = _scheduler.PreemptionVictims("notebook", Policy);

        Assert.Single(victims);
    }
}
