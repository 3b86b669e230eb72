using Attach.Broker.Pool;
using Attach.Contracts.Kernels;

namespace Attach.Broker.Tests.Fakes;

/// <summary>
/// An in-memory <see cref="IGpuBinder"/>: records every call and either answers at once or, when
/// <see cref="HoldBinds"/> / <see cref="HoldUnbinds"/> is set, waits until the test completes or fails the call.
/// </summary>
internal sealed class FakeGpuBinder : IGpuBinder
{
    private readonly Lock _lock = new();
    private readonly List<BindCall> _binds = [];
    private readonly List<string> _unbinds = [];
    private readonly Queue<TaskCompletionSource<HeldCall>> _bindWaiters = new();
    private readonly Queue<HeldCall> _heldBinds = new();
    private readonly Queue<TaskCompletionSource<HeldCall>> _unbindWaiters = new();
    private readonly Queue<HeldCall> _heldUnbinds = new();

    /// <summary>When true, each bind waits for <see cref="NextHeldBindAsync"/>'s call to be completed or failed.</summary>
    public bool HoldBinds { get; set; }

    /// <summary>When true, each unbind waits for <see cref="NextHeldUnbindAsync"/>'s call to be completed or failed.</summary>
    public bool HoldUnbinds { get; set; }

    /// <summary>
    /// When set, held binds first report this standing to their observer (the kernel goes Queued), and report the
    /// placement when completed; a held bind ends with <see cref="OperationCanceledException"/> when its kernel cancels it.
    /// </summary>
    public Attach.Broker.Scheduling.WaiterInfo? QueueAs { get; set; }

    /// <summary>Every idle-release time the kernels reported, in order (lease id, time or null).</summary>
    public List<(string LeaseId, DateTimeOffset? At)> ExpectedReleases { get; } = [];

    /// <summary>When set, binds that are not held fail with this reason.</summary>
    public string? BindFailure { get; set; }

    /// <summary>When set, unbinds that are not held fail with this reason.</summary>
    public string? UnbindFailure { get; set; }

    /// <summary>When set, binds and unbinds throw this instead (a fault the binder did not turn into a reason).</summary>
    public Exception? Unexpected { get; set; }

    public IReadOnlyList<BindCall> Binds
    {
        get
        {
            lock (_lock)
            {
                return [.. _binds];
            }
        }
    }

    public IReadOnlyList<string> Unbinds
    {
        get
        {
            lock (_lock)
            {
                return [.. _unbinds];
            }
        }
    }

    public static AttachmentInfo AttachmentFor(int number, SliceRequest request) =>
        new($"lease-{number}", "node-a", number % 4, $"SIM-{number:D4}", "A100 80GB (simulated)", true, request.MemoryMiB, 81920, 0.25);

    public Task<AttachmentInfo> BindAsync(string kernelId, string owner, SliceRequest request, DateTimeOffset requestedAt, IQueueObserver? observer, CancellationToken cancellationToken)
    {
        HeldCall? held = null;
        int number;
        Attach.Broker.Scheduling.WaiterInfo? queueAs;
        lock (_lock)
        {
            _binds.Add(new BindCall(kernelId, owner, request, requestedAt));
            number = _binds.Count;
            queueAs = QueueAs;
            if (HoldBinds)
            {
                held = new HeldCall(kernelId, number, request) { Observer = observer, Cancellation = cancellationToken };
                Hand(held, _bindWaiters, _heldBinds);
            }
        }

        if (held is not null)
        {
            if (queueAs is not null)
            {
                observer?.Queued(queueAs);
            }

            return AttachWhenReleasedAsync(held, number, request, queueAs is not null, cancellationToken);
        }

        if (Unexpected is { } unexpected)
        {
            return Task.FromException<AttachmentInfo>(unexpected);
        }

        return BindFailure is { } failure
            ? Task.FromException<AttachmentInfo>(new AttachFailedException(failure))
            : Task.FromResult(AttachmentFor(number, request));
    }

    public Task UnbindAsync(string leaseId, CancellationToken cancellationToken)
    {
        HeldCall? held = null;
        lock (_lock)
        {
            _unbinds.Add(leaseId);
            if (HoldUnbinds)
            {
                held = new HeldCall(leaseId, _unbinds.Count, default);
                Hand(held, _unbindWaiters, _heldUnbinds);
            }
        }

        if (held is not null)
        {
            return held.Result.Task;
        }

        if (Unexpected is { } unexpected)
        {
            return Task.FromException(unexpected);
        }

        return UnbindFailure is { } failure ? Task.FromException(new AttachFailedException(failure)) : Task.CompletedTask;
    }

    public void ExpectRelease(string leaseId, DateTimeOffset? at)
    {
        lock (_lock)
        {
            ExpectedReleases.Add((leaseId, at));
        }
    }

    private static async Task<AttachmentInfo> AttachWhenReleasedAsync(HeldCall held, int number, SliceRequest request, bool queued, CancellationToken cancellationToken)
    {
        await held.Result.Task.WaitAsync(queued ? cancellationToken : CancellationToken.None);
        var attachment = AttachmentFor(number, request);
        if (queued)
        {
            held.Observer?.Placed(attachment.NodeId, attachment.GpuIndex, attachment.GpuName);
        }

        return attachment;
    }

    /// <summary>The next bind that waits for the test (already started, or the next one to start).</summary>
    public Task<HeldCall> NextHeldBindAsync() => Take(_bindWaiters, _heldBinds);

    /// <summary>The next unbind that waits for the test.</summary>
    public Task<HeldCall> NextHeldUnbindAsync() => Take(_unbindWaiters, _heldUnbinds);

    private static void Hand(HeldCall call, Queue<TaskCompletionSource<HeldCall>> waiters, Queue<HeldCall> held)
    {
        if (waiters.TryDequeue(out var waiter))
        {
            waiter.TrySetResult(call);
        }
        else
        {
            held.Enqueue(call);
        }
    }

    private Task<HeldCall> Take(Queue<TaskCompletionSource<HeldCall>> waiters, Queue<HeldCall> held)
    {
        lock (_lock)
        {
            if (held.TryDequeue(out var call))
            {
                return Task.FromResult(call);
            }

            var waiter = new TaskCompletionSource<HeldCall>(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Enqueue(waiter);
            return waiter.Task.WaitAsync(TestTimeouts.Event);
        }
    }
}
