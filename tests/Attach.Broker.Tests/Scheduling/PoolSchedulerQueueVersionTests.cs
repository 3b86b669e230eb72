using Attach.Broker.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Broker.Tests.Scheduling;

/// <summary>The queue version moves exactly when standings may change, and filtered standings are built only for the waiters asked for.</summary>
public sealed class PoolSchedulerQueueVersionTests
{
    private const long GiB = 1024;
    private readonly PoolScheduler _scheduler = new(new SchedulerSettings(), new FakeTimeProvider());

    public PoolSchedulerQueueVersionTests() =>
        _scheduler.UpsertNode("node-a", [new GpuCapacity(0, 80 * GiB)]);

    private SubmitResult Submit(string kernel, string user, long gib) =>
        _scheduler.Submit(new SliceDemand($"lease-{kernel}", kernel, user, null, PriorityClass.Interactive, gib * GiB, 10));

    [Fact]
    public void QueueVersion_MovesWhenARequestQueuesLeavesOrIsServed()
    {
        var big = Submit("k1", "ada", 60).Allocation!;
        var small = Submit("k2", "ada", 10).Allocation!;
        var before = _scheduler.QueueVersion;

        Submit("k3", "grace", 40);
        var queued = _scheduler.QueueVersion;
        _scheduler.Release(big.AllocationId);
        var served = _scheduler.QueueVersion;

        Assert.NotEqual(before, queued);
        Assert.NotEqual(queued, served);
        Assert.Equal(0, _scheduler.WaiterCount);
        Assert.NotNull(small);
    }

    [Fact]
    public void QueueVersion_StaysWhenNothingAboutTheWaitersChanged()
    {
        Submit("k1", "ada", 60);
        var small = Submit("k2", "ada", 10).Allocation!;
        Submit("k3", "grace", 40);
        var queued = _scheduler.QueueVersion;

        // Ada waits for nothing; her 10 GiB back is not enough for Grace's 40.
        _scheduler.Release(small.AllocationId);
        _scheduler.SetExpectedRelease("lease-k1", DateTimeOffset.UnixEpoch);

        Assert.Equal(queued, _scheduler.QueueVersion);
        Assert.True(_scheduler.IsWaiting("k3"));
    }

    [Fact]
    public void QueueVersion_MovesWhenAWaitingUsersHoldingChanges()
    {
        var held = Submit("k1", "ada", 70).Allocation!;
        Submit("k2", "ada", 40);
        var queued = _scheduler.QueueVersion;

        // Ada holds one slice fewer: her place in the fair-share order changes (and here she is served).
        Assert.True(_scheduler.Release(held.AllocationId));

        Assert.NotEqual(queued, _scheduler.QueueVersion);
    }

    [Fact]
    public void Waiters_WithAFilter_ReportsOnlyTheIncludedWithTheirFullStanding()
    {
        Submit("k1", "ada", 80);
        Submit("k2", "grace", 40);
        Submit("k3", "linus", 40);
        Submit("k4", "zoe", 40);
        var seen = new List<(string, int, int)>();

        var included = _scheduler.Waiters((kernel, position, length) =>
        {
            seen.Add((kernel, position, length));
            return kernel == "k3";
        });

        var all = _scheduler.Waiters();
        Assert.Equal([("k2", 1, 3), ("k3", 2, 3), ("k4", 3, 3)], seen);
        var k3 = Assert.Single(included);
        Assert.Equal(all.Single(w => w.KernelId == "k3"), k3);
    }
}
