using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;

namespace Attach.Broker.Pool;

/// <summary>Places and binds slices for the kernel state machine; the seam its unit tests replace.</summary>
internal interface IGpuBinder
{
    /// <summary>
    /// Reserves a slice, has the agent bind it, and returns it. Throws <see cref="AttachFailedException"/> with a reason.
    /// With an <paramref name="observer"/>, a request that does not fit waits in the queue (reported to the observer)
    /// until a slice frees or <paramref name="cancellationToken"/> takes it out of the queue (then
    /// <see cref="OperationCanceledException"/>); without one it is refused at once.
    /// </summary>
    Task<AttachmentInfo> BindAsync(string kernelId, string owner, SliceRequest request, DateTimeOffset requestedAt, IQueueObserver? observer, CancellationToken cancellationToken);

    /// <summary>Has the agent unbind the lease and frees it. Throws <see cref="AttachFailedException"/>; the capacity then stays reserved.</summary>
    Task UnbindAsync(string leaseId, CancellationToken cancellationToken);

    /// <summary>When the lease will be released if its kernel stays idle (null: it is busy); the queue's ETAs use it.</summary>
    void ExpectRelease(string leaseId, DateTimeOffset? at);

    /// <summary>
    /// Has the agent suspend the process behind the lease to host memory; the lease stays bound (the caller unbinds
    /// it next). Null when there is nothing to suspend (the agent knows no process for it, or the process holds no
    /// CUDA state): the slice is then simply released. Throws <see cref="AttachFailedException"/> when the suspend
    /// failed. A binder that cannot suspend answers null, so its kernels release as before.
    /// </summary>
    Task<SuspendResumeResult?> SuspendAsync(string leaseId, int? pid, CancellationToken cancellationToken) =>
        Task.FromResult<SuspendResumeResult?>(null);

    /// <summary>
    /// Has the agent restore the suspended process <paramref name="pid"/> onto the GPU of the (bound) lease
    /// <paramref name="leaseId"/>. Throws <see cref="AttachFailedException"/> when the resume failed.
    /// </summary>
    Task<SuspendResumeResult> ResumeAsync(string leaseId, int pid, int targetGpuIndex, CancellationToken cancellationToken) =>
        Task.FromException<SuspendResumeResult>(new AttachFailedException("this broker cannot resume a suspended process"));
}
