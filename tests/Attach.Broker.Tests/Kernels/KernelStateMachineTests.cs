using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Broker.Tests.Kernels;

public sealed class KernelStateMachineTests : IDisposable
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);
    private static readonly SliceRequest Slice = new(20 * 1024, 25);

    private readonly FakeTimeProvider _time = new();
    private readonly FakeGpuBinder _binder = new();
    private readonly RecordingEventPublisher _events = new();
    private readonly KernelStateMachine _kernel;

    public KernelStateMachineTests()
    {
        _kernel = new KernelStateMachine("kernel-1", "alice", _binder, _events, _time, IdleTimeout, NullLogger.Instance);
    }

    public void Dispose() => _kernel.Dispose();

    [Fact]
    public void NewKernel_IsDetachedWithoutAGpu()
    {
        var status = _kernel.Status;

        Assert.Equal(KernelState.Detached, status.State);
        Assert.Null(status.Attachment);
        Assert.Null(status.ReleaseAt);
        Assert.Equal("alice", status.Owner);
        Assert.Empty(_events.Events);
    }

    [Fact]
    public async Task EnsureAttachedAsync_FirstGpuRequest_GoesThroughAttachingToAttached()
    {
        var requestedAt = _time.GetUtcNow();

        var outcome = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        Assert.True(outcome.NewlyAttached);
        Assert.Null(outcome.Error);
        Assert.NotNull(outcome.Attachment);
        var status = _kernel.Status;
        Assert.Equal(KernelState.Attached, status.State);
        Assert.Equal(outcome.Attachment, status.Attachment);
        Assert.Equal(
            [(KernelState.Detached, KernelState.Attaching), (KernelState.Attaching, KernelState.Attached)],
            _events.Events.Select(e => (e.From, e.To)));
        Assert.Contains("cuda-call", _events.Events[0].Reason, StringComparison.Ordinal);
        Assert.Contains("A100 80GB (simulated)", _events.Events[1].Reason, StringComparison.Ordinal);
        var bind = Assert.Single(_binder.Binds);
        Assert.Equal(new BindCall("kernel-1", "alice", Slice, requestedAt), bind);
    }

    [Fact]
    public async Task EnsureAttachedAsync_AlreadyAttached_ReturnsTheSameSliceWithoutBinding()
    {
        var first = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        var second = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        Assert.False(second.NewlyAttached);
        Assert.Equal(first.Attachment, second.Attachment);
        Assert.Single(_binder.Binds);
    }

    [Fact]
    public async Task EnsureAttachedAsync_CallsWhileAttaching_ShareOneBind()
    {
        _binder.HoldBinds = true;

        var calls = Enumerable.Range(0, 8).Select(_ => _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None)).ToList();
        var bind = await _binder.NextHeldBindAsync();
        Assert.All(calls, c => Assert.False(c.IsCompleted));
        bind.Complete();
        var outcomes = await Task.WhenAll(calls).WaitAsync(TestTimeouts.Event);

        Assert.Single(_binder.Binds);
        Assert.Single(outcomes.Select(o => o.Attachment).Distinct());
        Assert.NotNull(outcomes[0].Attachment);
        Assert.Single(outcomes, o => o.NewlyAttached);
        Assert.Equal(KernelState.Attached, _kernel.Status.State);
    }

    [Fact]
    public async Task EnsureAttachedAsync_ManyThreadsAtOnce_BindOnlyOnce()
    {
        using var start = new ManualResetEventSlim();
        var calls = Enumerable.Range(0, 32)
            .Select(_ => Task.Run(() =>
            {
                start.Wait(TestTimeouts.Event);
                return _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
            }))
            .ToList();

        start.Set();
        var outcomes = await Task.WhenAll(calls).WaitAsync(TestTimeouts.Event);

        Assert.Single(_binder.Binds);
        Assert.Single(outcomes, o => o.NewlyAttached);
        Assert.All(outcomes, o => Assert.Equal("lease-1", o.Attachment?.LeaseId));
    }

    [Fact]
    public async Task AttachedIdleKernel_StatusSaysWhenTheSliceGoesBack()
    {
        var attachedAt = _time.GetUtcNow();

        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        Assert.Equal(attachedAt + IdleTimeout, _kernel.Status.ReleaseAt);
    }

    [Fact]
    public async Task IdleTimeout_Elapses_ReleasesThroughReleasingAndUnbindsOnce()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        _time.Advance(IdleTimeout - TimeSpan.FromSeconds(1));
        Assert.Equal(KernelState.Attached, _kernel.Status.State);
        Assert.Empty(_binder.Unbinds);

        _time.Advance(TimeSpan.FromSeconds(1));
        var releasing = await _events.WaitForAsync(KernelState.Releasing);
        var detached = await _events.WaitForAsync(KernelState.Detached);

        Assert.Contains("idle for 300 s", releasing.Reason, StringComparison.Ordinal);
        Assert.Contains("back in the pool", detached.Reason, StringComparison.Ordinal);
        Assert.Equal(KernelState.Detached, _kernel.Status.State);
        Assert.Null(_kernel.Status.Attachment);
        Assert.Null(_kernel.Status.ReleaseAt);
        _time.Advance(IdleTimeout * 3);
        Assert.Equal(["lease-1"], _binder.Unbinds);
    }

    [Fact]
    public async Task BusyReport_CancelsIdleTimer_KernelKeepsItsSlice()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        _kernel.ReportActivity(KernelActivity.Busy);
        _time.Advance(IdleTimeout * 3);

        var status = _kernel.Status;
        Assert.Equal(KernelState.Attached, status.State);
        Assert.True(status.Busy);
        Assert.Null(status.ReleaseAt);
        Assert.Empty(_binder.Unbinds);
    }

    [Fact]
    public async Task IdleReport_RearmsTimerFromThatMoment()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        _kernel.ReportActivity(KernelActivity.Busy);
        _time.Advance(TimeSpan.FromMinutes(42));

        var idleAt = _time.GetUtcNow();
        _kernel.ReportActivity(KernelActivity.Idle);

        Assert.Equal(idleAt + IdleTimeout, _kernel.Status.ReleaseAt);
        Assert.False(_kernel.Status.Busy);
        _time.Advance(IdleTimeout - TimeSpan.FromSeconds(1));
        Assert.Equal(KernelState.Attached, _kernel.Status.State);
        _time.Advance(TimeSpan.FromSeconds(1));
        await _events.WaitForAsync(KernelState.Detached);
        Assert.Equal(["lease-1"], _binder.Unbinds);
    }

    [Fact]
    public async Task IdleThenBusyAgain_BeforeTimeout_KeepsTheSlice()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        _time.Advance(IdleTimeout - TimeSpan.FromSeconds(10));

        _kernel.ReportActivity(KernelActivity.Busy);
        _time.Advance(TimeSpan.FromSeconds(20));
        _kernel.ReportActivity(KernelActivity.Idle);
        _time.Advance(IdleTimeout - TimeSpan.FromSeconds(1));

        Assert.Equal(KernelState.Attached, _kernel.Status.State);
        Assert.Empty(_binder.Unbinds);
    }

    [Fact]
    public async Task GpuRequestJustBeforeTheIdleTimeout_KeepsTheSliceForThatCell()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        _time.Advance(IdleTimeout - TimeSpan.FromMilliseconds(5));

        var outcome = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        // The gateway forwards the cell; the kernel's busy status arrives a few milliseconds later.
        _time.Advance(TimeSpan.FromMilliseconds(10));
        _kernel.ReportActivity(KernelActivity.Busy);

        Assert.NotNull(outcome.Attachment);
        Assert.Equal(KernelState.Attached, _kernel.Status.State);
        Assert.Empty(_binder.Unbinds);
    }

    [Fact]
    public async Task BusyWhileAttaching_NoIdleTimerUntilTheCellFinishes()
    {
        _binder.HoldBinds = true;
        var attach = _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        var bind = await _binder.NextHeldBindAsync();
        _kernel.ReportActivity(KernelActivity.Busy);
        bind.Complete();
        await attach.WaitAsync(TestTimeouts.Event);

        _time.Advance(IdleTimeout * 2);
        Assert.Equal(KernelState.Attached, _kernel.Status.State);
        Assert.Null(_kernel.Status.ReleaseAt);

        _kernel.ReportActivity(KernelActivity.Idle);
        _time.Advance(IdleTimeout);
        await _events.WaitForAsync(KernelState.Detached);
        Assert.Single(_binder.Unbinds);
    }

    [Fact]
    public async Task BindFailure_KernelIsFailedWithTheReason()
    {
        const string reason = "no GPU has 20 GiB and 25% of its compute free (largest free: 8 GiB on 4 GPUs)";
        _binder.BindFailure = reason;

        var outcome = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        Assert.Null(outcome.Attachment);
        Assert.False(outcome.NewlyAttached);
        Assert.Equal(reason, outcome.Error);
        var status = _kernel.Status;
        Assert.Equal(KernelState.Failed, status.State);
        Assert.Equal(reason, status.Reason);
        Assert.Null(status.Attachment);
        Assert.Null(status.ReleaseAt);
        var last = _events.Events[^1];
        Assert.Equal((KernelState.Attaching, KernelState.Failed, reason), (last.From, last.To, last.Reason));
    }

    [Fact]
    public async Task BindFailure_AllWaitingCallersGetTheReason()
    {
        _binder.HoldBinds = true;
        var calls = Enumerable.Range(0, 3).Select(_ => _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None)).ToList();

        (await _binder.NextHeldBindAsync()).Fail("the agent at http://node-a:7070/ cannot be reached");
        var outcomes = await Task.WhenAll(calls).WaitAsync(TestTimeouts.Event);

        Assert.All(outcomes, o => Assert.Equal("the agent at http://node-a:7070/ cannot be reached", o.Error));
        Assert.All(outcomes, o => Assert.Null(o.Attachment));
        Assert.Single(_binder.Binds);
    }

    [Fact]
    public async Task BindFault_OtherThanAttachFailed_KernelIsFailedAndCanRetry()
    {
        // What GpuBinder lets through when an agent answers 200 with a body that is not JSON (AgentClient.cs:18).
        _binder.Unexpected = new System.Text.Json.JsonException("'<' is an invalid start of a value.");
        var first = await Record.ExceptionAsync(() => _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None));
        _binder.Unexpected = null;

        Assert.Equal(KernelState.Failed, _kernel.Status.State);
        var retry = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None).WaitAsync(TestTimeouts.Event);
        Assert.NotNull(retry.Attachment);
        Assert.Null(first);
    }

    [Fact]
    public async Task UnbindFault_OtherThanAttachFailed_KernelIsFailedAndCanAttachAgain()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        _binder.Unexpected = new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.");
        await Record.ExceptionAsync(() => _kernel.ReleaseAsync("released on request", CancellationToken.None));
        _binder.Unexpected = null;

        Assert.Equal(KernelState.Failed, _kernel.Status.State);
        var retry = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None).WaitAsync(TestTimeouts.Event);
        Assert.NotNull(retry.Attachment);
    }

    [Fact]
    public async Task FailedKernel_NextGpuRequest_RetriesTheAttach()
    {
        _binder.BindFailure = "pool full";
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        _binder.BindFailure = null;

        var outcome = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        Assert.True(outcome.NewlyAttached);
        Assert.NotNull(outcome.Attachment);
        Assert.Equal(KernelState.Attached, _kernel.Status.State);
        Assert.Equal(2, _binder.Binds.Count);
        Assert.Contains(_events.Events, e => e.From == KernelState.Failed && e.To == KernelState.Attaching);
    }

    [Fact]
    public async Task GpuRequestDuringRelease_WaitsForTheReleaseThenAttachesAgain()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        _binder.HoldUnbinds = true;
        _time.Advance(IdleTimeout);
        var unbind = await _binder.NextHeldUnbindAsync();
        Assert.Equal(KernelState.Releasing, _kernel.Status.State);
        Assert.Equal("lease-1", _kernel.Status.Attachment?.LeaseId);

        var request = _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        Assert.False(request.IsCompleted);
        Assert.Single(_binder.Binds);

        unbind.Complete();
        var outcome = await request.WaitAsync(TestTimeouts.Event);

        Assert.True(outcome.NewlyAttached);
        Assert.Equal("lease-2", outcome.Attachment?.LeaseId);
        Assert.Equal(2, _binder.Binds.Count);
        Assert.Equal(
            [
                (KernelState.Detached, KernelState.Attaching),
                (KernelState.Attaching, KernelState.Attached),
                (KernelState.Attached, KernelState.Suspending),
                (KernelState.Suspending, KernelState.Releasing),
                (KernelState.Releasing, KernelState.Detached),
                (KernelState.Detached, KernelState.Attaching),
                (KernelState.Attaching, KernelState.Attached),
            ],
            _events.Events.Select(e => (e.From, e.To)));
    }

    [Fact]
    public async Task ReleaseAsync_AttachedKernel_UnbindsAndDetaches()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        await _kernel.ReleaseAsync("released on request", CancellationToken.None);

        var status = _kernel.Status;
        Assert.Equal(KernelState.Detached, status.State);
        Assert.Null(status.Attachment);
        Assert.Contains("released on request", status.Reason, StringComparison.Ordinal);
        Assert.Equal(["lease-1"], _binder.Unbinds);
        Assert.Contains(_events.Events, e => e.To == KernelState.Releasing && e.Reason == "released on request");
        _time.Advance(IdleTimeout * 2);
        Assert.Single(_binder.Unbinds);
    }

    [Fact]
    public async Task ReleaseAsync_DetachedKernel_DoesNothing()
    {
        await _kernel.ReleaseAsync("released on request", CancellationToken.None);

        Assert.Equal(KernelState.Detached, _kernel.Status.State);
        Assert.Empty(_binder.Unbinds);
        Assert.Empty(_events.Events);
    }

    [Fact]
    public async Task ReleaseAsync_WhileAttaching_WaitsForTheAttachThenReleases()
    {
        _binder.HoldBinds = true;
        var attach = _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        var bind = await _binder.NextHeldBindAsync();

        var release = _kernel.ReleaseAsync("the kernel was shut down", CancellationToken.None);
        Assert.False(release.IsCompleted);
        bind.Complete();
        await release.WaitAsync(TestTimeouts.Event);

        Assert.Equal(KernelState.Detached, _kernel.Status.State);
        Assert.Equal(["lease-1"], _binder.Unbinds);
        Assert.True((await attach).NewlyAttached);
    }

    [Fact]
    public async Task UnbindFailure_KernelIsFailedWithTheReason()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        _binder.UnbindFailure = "the slice could not be released: the agent at http://node-a:7070/ cannot be reached";

        await _kernel.ReleaseAsync("released on request", CancellationToken.None);

        var status = _kernel.Status;
        Assert.Equal(KernelState.Failed, status.State);
        Assert.Equal(_binder.UnbindFailure, status.Reason);
        Assert.Null(status.Attachment);
        var last = _events.Events[^1];
        Assert.Equal((KernelState.Releasing, KernelState.Failed), (last.From, last.To));
    }

    [Fact]
    public async Task UnbindFailureOnIdle_NextGpuRequest_AttachesAgain()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        _binder.UnbindFailure = "agent down";
        _time.Advance(IdleTimeout);
        await _events.WaitForAsync(KernelState.Failed);
        _binder.UnbindFailure = null;

        var outcome = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        Assert.True(outcome.NewlyAttached);
        Assert.Equal(KernelState.Attached, _kernel.Status.State);
    }

    [Fact]
    public async Task CallerStopsWaiting_AttachGoesOnAndTheIdlePolicyReleasesIt()
    {
        _binder.HoldBinds = true;
        using var cts = new CancellationTokenSource();
        var request = _kernel.EnsureAttachedAsync(Slice, "cuda-call", cts.Token);
        var bind = await _binder.NextHeldBindAsync();

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        bind.Complete();
        await _events.WaitForAsync(KernelState.Attached);
        Assert.NotNull(_kernel.Status.ReleaseAt);

        _time.Advance(IdleTimeout);
        await _events.WaitForAsync(KernelState.Detached);
        Assert.Equal(["lease-1"], _binder.Unbinds);
    }

    [Fact]
    public async Task EveryTransition_IsPublishedInOrderWithFromAndTo()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        _kernel.ReportActivity(KernelActivity.Busy);
        _kernel.ReportActivity(KernelActivity.Idle);
        _time.Advance(IdleTimeout);
        await _events.WaitForAsync(KernelState.Detached);

        var events = _events.Events;
        Assert.Equal(
            [
                (KernelState.Detached, KernelState.Attaching),
                (KernelState.Attaching, KernelState.Attached),
                (KernelState.Attached, KernelState.Attached),
                (KernelState.Attached, KernelState.Attached),
                (KernelState.Attached, KernelState.Suspending),
                (KernelState.Suspending, KernelState.Releasing),
                (KernelState.Releasing, KernelState.Detached),
            ],
            events.Select(e => (e.From, e.To)));
        Assert.Contains("busy", events[2].Reason, StringComparison.Ordinal);
        Assert.Contains("idle", events[3].Reason, StringComparison.Ordinal);
        for (var i = 1; i < events.Count; i++)
        {
            Assert.Equal(events[i - 1].To, events[i].From);
        }

        Assert.All(events, e => Assert.Equal(("kernel-1", "alice", e.To, e.Reason), (e.KernelId, e.Status.Owner, e.Status.State, e.Status.Reason)));
        Assert.True(events[2].Status.Busy);
        Assert.Null(events[2].Status.ReleaseAt);
        Assert.NotNull(events[3].Status.ReleaseAt);
    }

    [Fact]
    public async Task Dispose_StopsTheIdleTimer()
    {
        await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        var published = _events.Events.Count;

        _kernel.Dispose();
        _time.Advance(IdleTimeout * 3);

        Assert.Empty(_binder.Unbinds);
        Assert.Equal(published, _events.Events.Count);
        _kernel.ReportActivity(KernelActivity.Busy);
        Assert.Equal(published, _events.Events.Count);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None));
    }

    [Fact]
    public async Task TryRestoreAttached_DetachedKernel_AttachesWithTheSliceAndTheIdlePolicyReleasesIt()
    {
        var restored = FakeGpuBinder.AttachmentFor(7, Slice);

        Assert.True(_kernel.TryRestoreAttached(restored, "restored: node-a still holds it"));

        var status = _kernel.Status;
        Assert.Equal((KernelState.Attached, restored), (status.State, status.Attachment));
        Assert.Equal(_time.GetUtcNow() + IdleTimeout, status.ReleaseAt);
        Assert.Equal([(KernelState.Detached, KernelState.Attached)], _events.Events.Select(e => (e.From, e.To)));
        Assert.Empty(_binder.Binds);

        _time.Advance(IdleTimeout);
        await _events.WaitForAsync(KernelState.Detached);

        Assert.Equal([restored.LeaseId], _binder.Unbinds);
    }

    [Fact]
    public async Task TryRestoreAttached_RestoredKernelInUse_KeepsTheSliceAndReturnsIt()
    {
        var restored = FakeGpuBinder.AttachmentFor(7, Slice);
        _kernel.TryRestoreAttached(restored, "restored");

        var outcome = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);
        _kernel.ReportActivity(KernelActivity.Busy);
        _time.Advance(IdleTimeout * 2);

        Assert.Equal((restored, false), (outcome.Attachment, outcome.NewlyAttached));
        Assert.Equal(KernelState.Attached, _kernel.Status.State);
        Assert.Empty(_binder.Binds);
        Assert.Empty(_binder.Unbinds);
    }

    [Fact]
    public async Task TryRestoreAttached_KernelAlreadyAttached_ChangesNothing()
    {
        var own = await _kernel.EnsureAttachedAsync(Slice, "cuda-call", CancellationToken.None);

        Assert.False(_kernel.TryRestoreAttached(FakeGpuBinder.AttachmentFor(7, Slice), "restored"));

        Assert.Equal(own.Attachment, _kernel.Status.Attachment);
    }

}
