using System.Globalization;
using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;

namespace Attach.Broker.Kernels;

/// <summary>
/// The one owner of a kernel's GPU state: Detached → Attaching → Attached{Busy|Idle} → Releasing → Detached,
/// any → Failed with a reason. When nothing fits, Attaching → Queued (position and ETA published on every change) →
/// Attaching once the queue places a slice, or → Detached when the wait is cancelled. Every field is guarded by
/// <see cref="_lock"/>; methods that expect it held end in <c>_NeedsLock</c>. Binds and unbinds run outside the lock;
/// time comes from <see cref="TimeProvider"/>.
/// </summary>
internal sealed partial class KernelStateMachine : IDisposable, IQueueObserver
{
    private readonly Lock _lock = new();
    private readonly IGpuBinder _binder;
    private readonly IKernelEventPublisher _events;
    private readonly TimeProvider _timeProvider;
    private readonly IdlePolicy _idlePolicy;
    private IdleRule _idleRule;
    private DateTimeOffset _attachedAt;
    private DateTimeOffset _idleSince;
    private readonly ILogger _logger;

    private KernelState _state = KernelState.Detached;
    private bool _busy;
    private AttachmentInfo? _attachment;
    private DateTimeOffset _since;
    private DateTimeOffset? _releaseAt;
    private string _reason = "no GPU work yet";
    private Task<AttachOutcome>? _attaching;
    private Task? _releasing;
    private ITimer? _idleTimer;
    private long _idleGeneration;
    private bool _disposed;
    private int? _queuePosition;
    private int? _queueLength;
    private double? _etaSeconds;
    private CancellationTokenSource? _attachCancel;
    private string? _cancelReason;
    private ITimer? _graceTimer;
    private long _graceGeneration;
    private string? _lastNodeId;
    private int? _lastGpuIndex;
    private SlicePreference? _preference;
    private readonly List<Action<KernelProgress>> _watchers = [];
    private bool _binding;
    private int? _pid;
    private SuspendedProcess? _suspension;
    private readonly Action<string, SuspendedProcess?>? _persistSuspension;
    private SliceRequest? _lastRequest;
    private bool _requeueAfterSuspend;

    /// <summary>
    /// Called (off the machine's lock) when an interactive request of this kernel starts waiting in the queue, so the
    /// registry can preempt batch work for it (<c>Broker:Scheduling:Preemption</c>).
    /// </summary>
    internal Action<KernelStateMachine>? InteractiveQueued { get; init; }

    public KernelStateMachine(
        string kernelId,
        string owner,
        IGpuBinder binder,
        IKernelEventPublisher events,
        TimeProvider timeProvider,
        TimeSpan idleTimeout,
        ILogger logger,
        IdlePolicy? idlePolicy = null,
        Action<string, SuspendedProcess?>? persistSuspension = null)
    {
        _persistSuspension = persistSuspension;
        KernelId = kernelId;
        Owner = owner;
        _binder = binder;
        _events = events;
        _timeProvider = timeProvider;
        _idlePolicy = idlePolicy ?? new IdlePolicy(idleTimeout);
        _idleRule = _idlePolicy.For(null);
        _logger = logger;
        _since = timeProvider.GetUtcNow();
    }

    public string KernelId { get; }

    /// <summary>The process suspended to host memory, while Suspended or Resuming; null otherwise.</summary>
    public SuspendedProcess? Suspension
    {
        get
        {
            lock (_lock)
            {
                return _suspension;
            }
        }
    }

    /// <summary>
    /// Records the process that uses the kernel's GPU (the shim's <c>cuInit</c> names it), so an idle suspend can tell
    /// the agent which process to copy to host memory when the agent does not know it yet.
    /// </summary>
    public void ReportProcess(int pid)
    {
        lock (_lock)
        {
            _pid = pid;
        }
    }

    /// <summary>
    /// Puts a kernel the broker had suspended before it restarted back in Suspended (from the store): no GPU is held,
    /// and the next GPU cell resumes it. False when the kernel is not Detached (it got a slice since).
    /// </summary>
    public bool TryRestoreSuspended(SuspendedProcess suspension)
    {
        ArgumentNullException.ThrowIfNull(suspension);
        lock (_lock)
        {
            if (_disposed || _state != KernelState.Detached)
            {
                return false;
            }

            _suspension = suspension;
            _pid = suspension.Pid;
            _lastNodeId = suspension.NodeId;
            _lastGpuIndex = suspension.GpuIndex;
            TransitionTo_NeedsLock(KernelState.Suspended, $"restored after a broker restart: {SuspendedText(suspension)}");
            return true;
        }
    }

    public string Owner { get; }

    public KernelStatus Status
    {
        get
        {
            lock (_lock)
            {
                return Snapshot_NeedsLock();
            }
        }
    }

    /// <summary>The slice size the owner chose for the next attach (<c>PUT …/slice-preference</c>); null for the default.</summary>
    public SlicePreference? Preference
    {
        get
        {
            lock (_lock)
            {
                return _preference;
            }
        }

        set
        {
            lock (_lock)
            {
                _preference = value;
            }
        }
    }

    /// <summary>
    /// Calls <paramref name="onChange"/> with the status (and the queue's length, when queued) after every transition
    /// and queue move until disposed. It runs under the machine's lock: it must only hand the status on (a channel
    /// write), never block or call back.
    /// </summary>
    public IDisposable Watch(Action<KernelProgress> onChange)
    {
        lock (_lock)
        {
            _watchers.Add(onChange);
        }

        return new Unwatch(this, onChange);
    }

    /// <summary>
    /// Takes the kernel's request out of the queue (the cell was interrupted, the process stopped asking) and waits
    /// until the kernel is Detached. False when it was not queued: it may have got its slice a moment ago.
    /// </summary>
    public async Task<bool> CancelQueuedAsync(string reason)
    {
        CancellationTokenSource? cancel;
        Task<AttachOutcome>? attaching;
        lock (_lock)
        {
            if (_state != KernelState.Queued || _attachCancel is null)
            {
                return false;
            }

            _cancelReason = reason;
            cancel = _attachCancel;
            attaching = _attaching;
        }

        // Outside the lock: cancelling runs the binder's continuation, which takes the lease table's lock.
        await cancel.CancelAsync();
        var outcome = await attaching!;
        return outcome.Attachment is null;
    }

    /// <summary>
    /// Keeps a queued request of a caller that asks again and again (the shim's agent) for <paramref name="grace"/>
    /// more; when no new ask comes in that time, the request leaves the queue.
    /// </summary>
    public void KeepQueuedFor(TimeSpan grace)
    {
        lock (_lock)
        {
            _graceTimer?.Dispose();
            _graceTimer = null;
            if (_disposed || _state is not (KernelState.Queued or KernelState.Attaching))
            {
                return;
            }

            var generation = ++_graceGeneration;
            _graceTimer = _timeProvider.CreateTimer(OnGraceExpired, (generation, grace), grace, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>
    /// Returns once the kernel holds a slice (or the attach failed). Concurrent callers share one attach;
    /// a call during a release waits for the release, then attaches again. The attach goes on even if
    /// <paramref name="cancellationToken"/> fires: the caller stops waiting, the idle policy cleans up.
    /// </summary>
    public async Task<AttachOutcome> EnsureAttachedAsync(SliceRequest request, string rule, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task? releasing = null;
            Task<AttachOutcome>? attaching = null;
            var started = false;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                switch (_state)
                {
                    case KernelState.Attached:
                        // A GPU cell is about to run: the idle clock starts again, so its slice cannot go between this answer and the kernel's busy.
                        if (!_busy)
                        {
                            ArmIdleTimer_NeedsLock();
                        }

                        return new AttachOutcome(_attachment, NewlyAttached: false, Error: null);
                    case KernelState.Attaching:
                    case KernelState.Queued:
                    case KernelState.Resuming:
                        attaching = _attaching!;
                        break;
                    case KernelState.Releasing:
                    case KernelState.Suspending:
                        releasing = _releasing!;
                        break;
                    case KernelState.Suspended:
                        var suspended = _suspension!;
                        TransitionTo_NeedsLock(
                            KernelState.Resuming,
                            $"GPU work detected (rule {rule}): resuming from host memory, asking for a slice on node {suspended.NodeId} (GPU {suspended.GpuIndex} preferred)");
                        // The process and its host copy live on that node: only its GPUs will do, the one it left first.
                        request = request with { NodeId = suspended.NodeId, PreferredNodeId = suspended.NodeId, PreferredGpuIndex = suspended.GpuIndex };
                        _attachCancel = new CancellationTokenSource();
                        _cancelReason = null;
                        _binding = false;
                        _attaching = attaching = AttachCoreAsync(request, _timeProvider.GetUtcNow(), _attachCancel.Token);
                        started = true;
                        break;
                    default:
                        TransitionTo_NeedsLock(KernelState.Attaching, $"GPU work detected (rule {rule})");
                        // Back to the node and GPU of the last slice when there is room: its CUDA state and caches are there.
                        request = request with
                        {
                            PreferredNodeId = request.PreferredNodeId ?? _lastNodeId,
                            PreferredGpuIndex = request.PreferredGpuIndex ?? (request.PreferredNodeId is null ? _lastGpuIndex : null),
                        };
                        _attachCancel = new CancellationTokenSource();
                        _cancelReason = null;
                        _binding = false;
                        _attaching = attaching = AttachCoreAsync(request, _timeProvider.GetUtcNow(), _attachCancel.Token);
                        started = true;
                        break;
                }
            }

            if (attaching is not null)
            {
                var outcome = await attaching.WaitAsync(cancellationToken);
                return started ? outcome : outcome with { NewlyAttached = false };
            }

            await releasing!.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Gives the kernel back a slice its agent still holds although the broker lost track of it (the broker restarted
    /// without its state): Detached or Failed → Attached with <paramref name="attachment"/>, the idle clock started
    /// now, so the usual idle policy releases the slice if nobody uses it. In any other state the kernel already has
    /// (or is getting) another slice; nothing changes and the caller unbinds the leftover.
    /// </summary>
    public bool TryRestoreAttached(AttachmentInfo attachment, string reason)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        lock (_lock)
        {
            if (_disposed || _state is not (KernelState.Detached or KernelState.Failed))
            {
                return false;
            }

            _attachment = attachment;
            _idleRule = _idlePolicy.For(null);
            _attachedAt = _timeProvider.GetUtcNow();
            if (!_busy)
            {
                ArmIdleTimer_NeedsLock();
            }

            TransitionTo_NeedsLock(KernelState.Attached, reason);
            return true;
        }
    }

    /// <summary>
    /// The broker took the kernel's slice back without an unbind (its node stopped sending heartbeats past the lease
    /// TTL): Attached with that lease → Failed with <paramref name="reason"/>. A later GPU cell attaches anew from
    /// Failed. False in any other state (the kernel is already releasing it, or holds another lease).
    /// </summary>
    public bool LoseAttachment(string leaseId, string reason)
    {
        lock (_lock)
        {
            if (_disposed || _state != KernelState.Attached || _attachment?.LeaseId != leaseId)
            {
                return false;
            }

            DisarmIdleTimer_NeedsLock();
            _attachment = null;
            TransitionTo_NeedsLock(KernelState.Failed, reason);
        }

        Log.AttachmentLost(_logger, KernelId, Owner, leaseId, reason);
        return true;
    }

    /// <summary>
    /// Suspends the kernel's slice <paramref name="leaseId"/> for an interactive request that waits (preemption of
    /// batch work): Attached → Suspending → Suspended as on idle, or released when there is nothing to suspend; then the
    /// kernel asks again at once with its last request, so it waits in the queue as batch work and resumes when capacity
    /// returns. False when the kernel no longer holds that lease attached.
    /// </summary>
    public bool Preempt(string leaseId, string reason)
    {
        lock (_lock)
        {
            if (_disposed || _state != KernelState.Attached || _attachment?.LeaseId != leaseId)
            {
                return false;
            }

            _requeueAfterSuspend = true;
            StartSuspend_NeedsLock(reason);
            return true;
        }
    }

    /// <summary>Records busy/idle from the kernel's iopub <c>status</c> for an <c>execute_request</c>.</summary>
    public void ReportActivity(KernelActivity activity)
    {
        lock (_lock)
        {
            var busy = activity == KernelActivity.Busy;
            if (_disposed || _busy == busy)
            {
                return;
            }

            _busy = busy;
            if (_state != KernelState.Attached)
            {
                return;
            }

            if (busy)
            {
                DisarmIdleTimer_NeedsLock();
                TransitionTo_NeedsLock(KernelState.Attached, "busy: running a cell");
            }
            else
            {
                ArmIdleTimer_NeedsLock();
                TransitionTo_NeedsLock(KernelState.Attached, IdleMessage_NeedsLock());
            }
        }
    }

    /// <summary>
    /// Records that the GPU behind <paramref name="leaseId"/> reported work (utilisation at or above the busy threshold
    /// in its agent's heartbeat): the idle clock restarts, as if the kernel had reported activity, so a process the
    /// gateway never sees (a runtime attach, background work after a cell) keeps its slice while its GPU computes.
    /// False when the kernel is not Attached on that lease, or a cell already keeps it busy.
    /// </summary>
    public bool ReportGpuWork(string leaseId, int thresholdPercent)
    {
        lock (_lock)
        {
            if (_disposed || _state != KernelState.Attached || _busy || _attachment?.LeaseId != leaseId)
            {
                return false;
            }

            ArmIdleTimer_NeedsLock();
            var reason = $"busy: its GPU reports work (utilisation at or above {thresholdPercent}%); the slice goes back to the pool " +
                $"{_idleRule.IdleTimeout.TotalSeconds:0.#} s after the GPU and the kernel are both idle";
            if (reason != _reason)
            {
                // Only the change is published: the agent reports every few seconds while the GPU works.
                TransitionTo_NeedsLock(KernelState.Attached, reason);
            }

            return true;
        }
    }

    /// <summary>
    /// Releases the slice now (a user's "release", the kernel shutting down, a shim process exiting) and
    /// waits for it. With <paramref name="onlyLeaseId"/>, only that lease is released: a release that
    /// arrives after the session was given a new lease leaves the new one alone.
    /// </summary>
    public async Task ReleaseAsync(string reason, CancellationToken cancellationToken, string? onlyLeaseId = null)
    {
        // A queued request holds nothing yet: releasing it means leaving the queue.
        await CancelQueuedAsync(reason);
        Task? attaching;
        lock (_lock)
        {
            attaching = _state is KernelState.Attaching or KernelState.Queued or KernelState.Resuming ? _attaching : null;
        }

        if (attaching is not null)
        {
            await attaching.WaitAsync(cancellationToken);
        }

        Task? releasing;
        lock (_lock)
        {
            if (_state == KernelState.Attached && (onlyLeaseId is null || _attachment?.LeaseId == onlyLeaseId))
            {
                StartRelease_NeedsLock(reason);
            }

            releasing = _state is KernelState.Releasing or KernelState.Suspending ? _releasing : null;
        }

        if (releasing is not null)
        {
            await releasing.WaitAsync(cancellationToken);
        }
    }

    public void Dispose()
    {
        CancellationTokenSource? cancel;
        lock (_lock)
        {
            _disposed = true;
            DisarmIdleTimer_NeedsLock();
            _graceTimer?.Dispose();
            _graceTimer = null;
            cancel = _state == KernelState.Queued ? _attachCancel : null;
            _cancelReason ??= "the kernel was shut down";
        }

        cancel?.Cancel();
    }

    void IQueueObserver.Queued(WaiterInfo standing)
    {
        lock (_lock)
        {
            if (_disposed || _state is not (KernelState.Attaching or KernelState.Queued or KernelState.Resuming))
            {
                return;
            }

            var first = _state != KernelState.Queued;
            _queuePosition = standing.Position;
            _queueLength = standing.QueueLength;
            _etaSeconds = standing.EtaSeconds;
            TransitionTo_NeedsLock(KernelState.Queued, QueueMessage(standing.Position, standing.QueueLength, standing.EtaSeconds));
            if (!first || InteractiveQueued is not { } preempt || _lastRequest?.Priority != PriorityClass.Interactive)
            {
                return;
            }

            // Off this lock and this thread: preempting takes other kernels' locks and the lease table's.
            _ = Task.Run(() => preempt(this));
        }
    }

    void IQueueObserver.Placed(string nodeId, int gpuIndex, string gpuName)
    {
        lock (_lock)
        {
            _graceTimer?.Dispose();
            _graceTimer = null;
            if (_state is KernelState.Attaching or KernelState.Resuming && !_binding)
            {
                _binding = true;
                TransitionTo_NeedsLock(_state, $"binding GPU {gpuIndex} ({gpuName}) on node {nodeId}");
                return;
            }

            if (_state != KernelState.Queued)
            {
                return;
            }

            var waited = _timeProvider.GetUtcNow() - _since;
            ClearQueue_NeedsLock();
            _binding = true;
            TransitionTo_NeedsLock(KernelState.Attaching, $"a GPU is free: binding GPU {gpuIndex} ({gpuName}) on node {nodeId} after {waited.TotalSeconds:0.#} s in the queue");
        }
    }

    /// <summary>The one line a waiting cell shows, e.g. "waiting for a GPU: position 2 of 5, about 40 s".</summary>
    internal static string QueueMessage(int position, int length, double? etaSeconds) =>
        $"waiting for a GPU: position {position} of {length}" + (etaSeconds is { } eta ? $", about {FormatEta(eta)}" : "");

    private static string FormatEta(double seconds) =>
        seconds < 90 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, Math.Ceiling(seconds)):0} s")
        : seconds < 90 * 60 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Ceiling(seconds / 60):0} min")
        : string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600:0.#} h");

    private void ClearQueue_NeedsLock()
    {
        _queuePosition = null;
        _queueLength = null;
        _etaSeconds = null;
    }

    private void OnGraceExpired(object? state)
    {
        var (generation, grace) = ((long, TimeSpan))state!;
        lock (_lock)
        {
            if (generation != _graceGeneration || _state != KernelState.Queued)
            {
                return;
            }
        }

        _ = CancelQueuedAsync($"no request for it in {grace.TotalSeconds:0.#} s (the process stopped asking)");
    }

    private async Task<AttachOutcome> AttachCoreAsync(SliceRequest request, DateTimeOffset requestedAt, CancellationToken cancellationToken)
    {
        _lastRequest = request;
        // Leave the caller's lock before binding.
        await Task.Yield();
        try
        {
            var attachment = await _binder.BindAsync(KernelId, Owner, request, requestedAt, this, cancellationToken);
            SuspendedProcess? suspension;
            lock (_lock)
            {
                suspension = _suspension;
                if (suspension is not null)
                {
                    TransitionTo_NeedsLock(
                        KernelState.Resuming,
                        $"restoring {SizeText(suspension.Bytes)} from host memory onto GPU {attachment.GpuIndex} ({attachment.GpuName}) on node {attachment.NodeId}");
                }
            }

            var attachedReason = $"attached GPU {attachment.GpuIndex} ({attachment.GpuName}), {MemorySize.Format(attachment.SliceMemoryMiB)} slice, waited {attachment.WaitSeconds:0.###} s";
            if (suspension is not null)
            {
                var (resumed, failure) = await ResumeOntoAsync(attachment, suspension);
                if (resumed is null)
                {
                    return new AttachOutcome(null, NewlyAttached: false, Error: failure);
                }

                var seconds = resumed.Seconds;
                attachedReason = string.Create(
                    CultureInfo.InvariantCulture,
                    $"resumed from host memory in {seconds:0.##} s: GPU {attachment.GpuIndex} ({attachment.GpuName}), {MemorySize.Format(attachment.SliceMemoryMiB)} slice");
            }

            lock (_lock)
            {
                _graceTimer?.Dispose();
                _graceTimer = null;
                ClearQueue_NeedsLock();
                _lastNodeId = attachment.NodeId;
                _lastGpuIndex = attachment.GpuIndex;
                _attachment = attachment;
                _idleRule = _idlePolicy.For(request.Profile);
                _attachedAt = _timeProvider.GetUtcNow();
                if (!_busy)
                {
                    ArmIdleTimer_NeedsLock();
                }

                TransitionTo_NeedsLock(KernelState.Attached, attachedReason);
            }

            Log.Attached(_logger, KernelId, Owner, attachment.GpuIndex, attachment.GpuName, attachment.SliceMemoryMiB, attachment.LeaseId, attachment.NodeId, attachment.WaitSeconds * 1000);
            return new AttachOutcome(attachment, NewlyAttached: true, Error: null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            string reason;
            lock (_lock)
            {
                reason = _cancelReason ?? "the request was cancelled";
                ClearQueue_NeedsLock();
                if (_suspension is { } kept)
                {
                    TransitionTo_NeedsLock(KernelState.Suspended, $"left the queue: {reason}; {SuspendedText(kept)}");
                }
                else
                {
                    TransitionTo_NeedsLock(KernelState.Detached, $"left the queue: {reason}");
                }
            }

            Log.QueueLeft(_logger, KernelId, Owner, reason);
            return new AttachOutcome(null, NewlyAttached: false, Error: $"no GPU was attached: {reason}");
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the kernel must leave Attaching: a later cell retries from Failed.
            var reason = ex is AttachFailedException ? ex.Message : $"internal error while attaching ({ex.GetType().Name}: {ex.Message}); run the cell again, and report it if it repeats";
            lock (_lock)
            {
                ClearQueue_NeedsLock();
                if (_suspension is { } kept)
                {
                    TransitionTo_NeedsLock(KernelState.Suspended, $"resuming failed: {reason}; {SuspendedText(kept)}, and the next GPU cell tries again");
                }
                else
                {
                    TransitionTo_NeedsLock(KernelState.Failed, reason);
                }
            }

            Log.AttachFailed(_logger, KernelId, Owner, reason);
            return new AttachOutcome(null, NewlyAttached: false, Error: reason);
        }
    }

    private void StartRelease_NeedsLock(string reason)
    {
        DisarmIdleTimer_NeedsLock();
        var attachment = _attachment!;
        TransitionTo_NeedsLock(KernelState.Releasing, reason);
        _releasing = ReleaseCoreAsync(attachment, reason);
    }

    /// <summary>
    /// Attached → Suspending: the agent copies the process's CUDA state to host memory, then the slice is unbound and
    /// goes back to the pool (→ Suspended, remembering the node and GPU). When there is nothing to suspend, or the
    /// suspend fails, the slice is released as before (→ Releasing → Detached).
    /// </summary>
    private void StartSuspend_NeedsLock(string reason)
    {
        DisarmIdleTimer_NeedsLock();
        var attachment = _attachment!;
        TransitionTo_NeedsLock(KernelState.Suspending, $"{reason}: suspending the process's GPU state to host memory");
        _releasing = SuspendCoreAsync(attachment, reason, _pid);
    }

    private async Task SuspendCoreAsync(AttachmentInfo attachment, string reason, int? pid)
    {
        await SuspendOrReleaseAsync(attachment, reason, pid);
        SliceRequest? requeue;
        lock (_lock)
        {
            requeue = _requeueAfterSuspend && !_disposed ? _lastRequest : null;
            _requeueAfterSuspend = false;
        }

        if (requeue is { } request)
        {
            // Preempted: back in the queue with the same request (batch), resumed when a slice frees.
            _ = EnsureAttachedAsync(request, "re-queued after preemption", CancellationToken.None);
        }
    }

    private async Task SuspendOrReleaseAsync(AttachmentInfo attachment, string reason, int? pid)
    {
        await Task.Yield();
        SuspendResumeResult? suspended = null;
        string? failure = null;
        try
        {
            suspended = await _binder.SuspendAsync(attachment.LeaseId, pid, CancellationToken.None);
        }
        catch (Exception ex)
        {
            failure = ex is AttachFailedException ? ex.Message : $"internal error while suspending ({ex.GetType().Name}: {ex.Message})";
            Log.SuspendFailed(_logger, KernelId, Owner, attachment.LeaseId, failure);
        }

        if (suspended is null)
        {
            lock (_lock)
            {
                TransitionTo_NeedsLock(
                    KernelState.Releasing,
                    failure is null ? $"{reason}: the process holds no GPU state, so the slice is released" : $"{reason}: {failure}, so the slice is released");
            }

            await ReleaseCoreAsync(attachment, reason);
            return;
        }

        try
        {
            await _binder.UnbindAsync(attachment.LeaseId, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The process no longer uses the GPU; the lease table keeps the capacity until the agent confirms the unbind.
            Log.SuspendedUnbindFailed(_logger, KernelId, attachment.LeaseId, ex.Message);
        }

        var suspension = new SuspendedProcess(
            attachment.NodeId, attachment.GpuIndex, attachment.GpuName, suspended.Pid, suspended.BytesMoved, attachment.SliceMemoryMiB, _timeProvider.GetUtcNow());
        lock (_lock)
        {
            _attachment = null;
            // Durable before visible: a restart keeps the kernel Suspended (the store's suspended_kernels).
            _persistSuspension?.Invoke(KernelId, suspension);
            _suspension = suspension;
            _pid = suspended.Pid;
            TransitionTo_NeedsLock(KernelState.Suspended, $"released: {reason}; {SuspendedText(suspension)}");
        }
    }

    /// <summary>
    /// Restores the suspended process onto the newly bound slice and returns what the agent did; when that fails the
    /// slice is unbound again, the kernel goes back to Suspended, and the reason is returned instead.
    /// </summary>
    private async Task<(SuspendResumeResult? Resumed, string? Failure)> ResumeOntoAsync(AttachmentInfo attachment, SuspendedProcess suspension)
    {
        try
        {
            var resumed = await _binder.ResumeAsync(attachment.LeaseId, suspension.Pid, attachment.GpuIndex, CancellationToken.None);
            lock (_lock)
            {
                _persistSuspension?.Invoke(KernelId, null);
                _suspension = null;
            }

            return (resumed, null);
        }
        catch (Exception ex)
        {
            var reason = ex is AttachFailedException ? ex.Message : $"internal error while resuming ({ex.GetType().Name}: {ex.Message})";
            Log.ResumeFailed(_logger, KernelId, Owner, reason);
            try
            {
                await _binder.UnbindAsync(attachment.LeaseId, CancellationToken.None);
            }
            catch (Exception unbind)
            {
                Log.ReleaseFailed(_logger, KernelId, attachment.LeaseId, unbind.Message);
            }

            lock (_lock)
            {
                _lastNodeId = suspension.NodeId;
                _lastGpuIndex = suspension.GpuIndex;
                TransitionTo_NeedsLock(KernelState.Suspended, $"resuming failed: {reason}; {SuspendedText(suspension)}, and the next GPU cell tries again");
            }

            return (null, $"the kernel's GPU state could not be restored from host memory: {reason}");
        }
    }

    /// <summary>E.g. "3.2 GiB kept in host memory (suspended from GPU 1, A100 80GB, on node-a)".</summary>
    internal static string SuspendedText(SuspendedProcess suspension) =>
        $"{SizeText(suspension.Bytes)} kept in host memory (suspended from GPU {suspension.GpuIndex}, {suspension.GpuName}, on {suspension.NodeId}); the next GPU cell resumes it";

    private static string SizeText(long? bytes) =>
        bytes is { } b ? string.Create(CultureInfo.InvariantCulture, $"{b / (1024.0 * 1024 * 1024):0.0#} GiB") : "its GPU memory";

    private async Task ReleaseCoreAsync(AttachmentInfo attachment, string reason)
    {
        await Task.Yield();
        try
        {
            await _binder.UnbindAsync(attachment.LeaseId, CancellationToken.None);
            lock (_lock)
            {
                _attachment = null;
                TransitionTo_NeedsLock(KernelState.Detached, $"released: {reason}; the slice is back in the pool");
            }

            Log.Released(_logger, KernelId, Owner, attachment.GpuIndex, attachment.GpuName, attachment.SliceMemoryMiB, attachment.LeaseId, reason);
        }
        catch (Exception ex)
        {
            var failure = ex is AttachFailedException ? ex.Message : $"internal error while releasing ({ex.GetType().Name}: {ex.Message})";
            lock (_lock)
            {
                // The lease table keeps the capacity until the agent confirms; the kernel itself no longer holds it.
                _attachment = null;
                TransitionTo_NeedsLock(KernelState.Failed, failure);
            }

            Log.ReleaseFailed(_logger, KernelId, attachment.LeaseId, failure);
        }
    }

    private void ArmIdleTimer_NeedsLock()
    {
        DisarmIdleTimer_NeedsLock();
        if (_disposed)
        {
            return;
        }

        var generation = ++_idleGeneration;
        var now = _timeProvider.GetUtcNow();
        _idleSince = now;
        // Idle for the profile's timeout, and never before the minimum hold since the attach has passed.
        var releaseAt = now + _idleRule.IdleTimeout;
        var holdEnds = _attachedAt + _idleRule.MinimumHold;
        _releaseAt = holdEnds > releaseAt ? holdEnds : releaseAt;
        _idleTimer = _timeProvider.CreateTimer(OnIdleTimeout, generation, _releaseAt.Value - now, Timeout.InfiniteTimeSpan);
        if (_attachment is { } attachment)
        {
            _binder.ExpectRelease(attachment.LeaseId, _releaseAt);
        }
    }

    private void DisarmIdleTimer_NeedsLock()
    {
        _idleGeneration++;
        if (_releaseAt is not null && _attachment is { } attachment)
        {
            _binder.ExpectRelease(attachment.LeaseId, null);
        }

        _releaseAt = null;
        _idleTimer?.Dispose();
        _idleTimer = null;
    }

    private void OnIdleTimeout(object? state)
    {
        lock (_lock)
        {
            // A busy report or a re-arm since this timer was set makes it stale.
            if ((long)state! != _idleGeneration || _state != KernelState.Attached || _busy || _disposed)
            {
                return;
            }

            StartSuspend_NeedsLock($"idle for {(_timeProvider.GetUtcNow() - _idleSince).TotalSeconds:0.#} s");
        }
    }

    private string IdleMessage_NeedsLock()
    {
        var message = $"idle: the slice goes back to the pool after {_idleRule.IdleTimeout.TotalSeconds:0.#} s without GPU work";
        return _releaseAt is { } at && at > _idleSince + _idleRule.IdleTimeout
            ? $"{message}, and not before it has been held {_idleRule.MinimumHold.TotalSeconds:0.#} s (the minimum hold)"
            : message;
    }

    private void TransitionTo_NeedsLock(KernelState to, string reason)
    {
        var from = _state;
        _state = to;
        _reason = reason;
        if (from != to)
        {
            _since = _timeProvider.GetUtcNow();
        }

        var status = Snapshot_NeedsLock();
        Log.Transition(_logger, KernelId, from, to, reason);
        _events.Publish(new KernelStateChanged(KernelId, from, to, reason, status));
        foreach (var watcher in _watchers)
        {
            watcher(new KernelProgress(status, _state == KernelState.Queued ? _queueLength : null, _state == KernelState.Attaching && _binding));
        }
    }

    private KernelStatus Snapshot_NeedsLock() =>
        new(KernelId, Owner, _state, _busy, _attachment, _since, _state == KernelState.Attached ? _releaseAt : null, _reason,
            _state == KernelState.Queued ? _queuePosition : null,
            _state == KernelState.Queued ? _etaSeconds : null,
            _state is KernelState.Suspended or KernelState.Resuming ? _suspension?.Bytes : null);

    /// <summary>How many requests wait in the pool's queue, as last reported to this kernel, when it is queued.</summary>
    public int? QueueLength
    {
        get
        {
            lock (_lock)
            {
                return _state == KernelState.Queued ? _queueLength : null;
            }
        }
    }

    private sealed class Unwatch(KernelStateMachine machine, Action<KernelProgress> onChange) : IDisposable
    {
        public void Dispose()
        {
            lock (machine._lock)
            {
                machine._watchers.Remove(onChange);
            }
        }
    }
}
