using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Broker.Tests.Kernels;

/// <summary>The state machine's Queued state: Attaching → Queued → Attaching → Attached, cancellation and the shim's grace, on a fake clock.</summary>
public sealed class KernelQueueTests : IDisposable
{
    private static readonly SliceRequest Slice = new(20 * 1024, 25);

    private readonly FakeTimeProvider _time = new();
    private readonly FakeGpuBinder _binder = new() { HoldBinds = true };
    private readonly RecordingEventPublisher _events = new();
    private readonly KernelStateMachine _kernel;

    public KernelQueueTests()
    {
        _kernel = new KernelStateMachine("kernel-1", "alice", _binder, _events, _time, TimeSpan.FromMinutes(5), NullLogger.Instance);
    }

    public void Dispose() => _kernel.Dispose();

    private WaiterInfo Standing(int position, int length, double? eta) =>
        new("kernel-1", "alice", PriorityClass.Interactive, position, length, eta, 20480, null, _time.GetUtcNow(), "no GPU has 20 GiB free");

    [Fact]
    public async Task NothingFits_KernelIsQueuedWithPositionAndEta_ThenAttachesWhenPlaced()
    {
        _binder.QueueAs = Standing(2, 5, 40);

        var attach = _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        var held = await _binder.NextHeldBindAsync();
        var queued = await _events.WaitForAsync(KernelState.Queued);
        var status = _kernel.Status;
        _time.Advance(TimeSpan.FromSeconds(30));
        held.Observer!.Queued(Standing(1, 4, 10));
        var moved = _kernel.Status;
        var movedLength = _kernel.QueueLength;
        held.Complete();
        var outcome = await attach;

        Assert.Equal("waiting for a GPU: position 2 of 5, about 40 s", queued.Reason);
        Assert.Equal((KernelState.Queued, 2, 40.0), (status.State, status.QueuePosition, status.EtaSeconds));
        Assert.Equal((1, (int?)4), (moved.QueuePosition, movedLength));
        Assert.NotNull(outcome.Attachment);
        Assert.Equal(
            [
                (KernelState.Detached, KernelState.Attaching),
                (KernelState.Attaching, KernelState.Queued),
                (KernelState.Queued, KernelState.Queued),
                (KernelState.Queued, KernelState.Attaching),
                (KernelState.Attaching, KernelState.Attached),
            ],
            _events.Events.Select(e => (e.From, e.To)));
        Assert.Contains("after 30 s in the queue", _events.Events[3].Reason, StringComparison.Ordinal);
        Assert.Null(_kernel.Status.QueuePosition);
    }

    [Fact]
    public async Task CancelQueuedAsync_LeavesTheQueueAndTheKernelIsDetached()
    {
        _binder.QueueAs = Standing(1, 1, null);
        var attach = _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        var held = await _binder.NextHeldBindAsync();
        await _events.WaitForAsync(KernelState.Queued);

        var cancelled = await _kernel.CancelQueuedAsync("the cell was interrupted");
        var outcome = await attach;

        Assert.True(cancelled);
        Assert.True(held.Cancellation.IsCancellationRequested);
        Assert.Null(outcome.Attachment);
        Assert.Contains("the cell was interrupted", outcome.Error, StringComparison.Ordinal);
        var status = _kernel.Status;
        Assert.Equal(KernelState.Detached, status.State);
        Assert.Equal("left the queue: the cell was interrupted", status.Reason);
        Assert.Null(status.QueuePosition);
    }

    [Fact]
    public async Task CancelQueuedAsync_NotQueued_ChangesNothing()
    {
        _binder.HoldBinds = false;
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        Assert.False(await _kernel.CancelQueuedAsync("the cell was interrupted"));
        Assert.Equal(KernelState.Attached, _kernel.Status.State);
    }

    [Fact]
    public async Task KeepQueuedFor_WithoutAnotherAsk_DropsTheWaiterAfterTheGrace()
    {
        _binder.QueueAs = Standing(1, 1, null);
        var attach = _kernel.EnsureAttachedAsync(Slice, "cuInit (process shim)", CancellationToken.None);
        await _binder.NextHeldBindAsync();
        await _events.WaitForAsync(KernelState.Queued);

        _kernel.KeepQueuedFor(TimeSpan.FromSeconds(30));
        _time.Advance(TimeSpan.FromSeconds(20));
        _kernel.KeepQueuedFor(TimeSpan.FromSeconds(30));
        _time.Advance(TimeSpan.FromSeconds(20));
        var stillQueued = _kernel.Status.State;
        _time.Advance(TimeSpan.FromSeconds(11));
        await _events.WaitForAsync(KernelState.Detached);

        Assert.Equal(KernelState.Queued, stillQueued);
        Assert.Null((await attach).Attachment);
        Assert.Contains("stopped asking", _kernel.Status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReleaseAsync_WhileQueued_LeavesTheQueueWithoutAnUnbind()
    {
        _binder.QueueAs = Standing(3, 3, 120);
        var attach = _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        await _binder.NextHeldBindAsync();
        await _events.WaitForAsync(KernelState.Queued);

        await _kernel.ReleaseAsync("the kernel was shut down", CancellationToken.None);

        Assert.Equal(KernelState.Detached, _kernel.Status.State);
        Assert.Null((await attach).Attachment);
        Assert.Empty(_binder.Unbinds);
    }

    [Fact]
    public async Task SecondCellWhileQueued_SharesTheWaitInsteadOfQueueingAgain()
    {
        _binder.QueueAs = Standing(1, 1, null);
        var first = _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        var held = await _binder.NextHeldBindAsync();
        await _events.WaitForAsync(KernelState.Queued);

        var second = _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        held.Complete();

        Assert.Equal((await first).Attachment, (await second).Attachment);
        Assert.Single(_binder.Binds);
    }

    [Fact]
    public async Task IdleTimer_IsReportedForTheQueuesEta()
    {
        _binder.HoldBinds = false;
        var outcome = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        _kernel.ReportActivity(KernelActivity.Busy);

        var leaseId = outcome.Attachment!.LeaseId;
        Assert.Equal((leaseId, _time.GetUtcNow() + TimeSpan.FromMinutes(5)), _binder.ExpectedReleases[0]);
        Assert.Equal((leaseId, (DateTimeOffset?)null), _binder.ExpectedReleases[^1]);
    }

    [Fact]
    public async Task Reattach_AsksForTheNodeAndGpuOfTheLastSlice()
    {
        _binder.HoldBinds = false;
        var first = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        await _kernel.ReleaseAsync("released on request", CancellationToken.None);

        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        var again = _binder.Binds[^1].Request;
        Assert.Equal((first.Attachment!.NodeId, (int?)first.Attachment.GpuIndex), (again.PreferredNodeId, again.PreferredGpuIndex));
    }
}
