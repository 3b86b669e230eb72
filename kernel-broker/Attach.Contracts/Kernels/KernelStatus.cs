namespace Attach.Contracts.Kernels;

/// <summary>A snapshot of one kernel as the broker sees it.</summary>
/// <param name="KernelId">The Jupyter kernel id.</param>
/// <param name="Owner">The user the kernel belongs to.</param>
/// <param name="State">The state-machine state.</param>
/// <param name="Busy">Whether the kernel is executing a request (from iopub <c>status</c>).</param>
/// <param name="Attachment">The bound slice, when <paramref name="State"/> is Attached or Releasing.</param>
/// <param name="Since">When the kernel entered <paramref name="State"/>.</param>
/// <param name="ReleaseAt">When the idle policy will release the slice, if the kernel stays idle.</param>
/// <param name="Reason">Why the kernel is in this state (the last transition's reason).</param>
/// <param name="QueuePosition">1-based place in the pool's queue, when Queued.</param>
/// <param name="EtaSeconds">The broker's estimate of the remaining wait, when Queued and known.</param>
/// <param name="SuspendedBytes">Device memory kept in host memory, when Suspended.</param>
public sealed record KernelStatus(
    string KernelId,
    string Owner,
    KernelState State,
    bool Busy,
    AttachmentInfo? Attachment,
    DateTimeOffset Since,
    DateTimeOffset? ReleaseAt,
    string Reason,
    int? QueuePosition = null,
    double? EtaSeconds = null,
    long? SuspendedBytes = null);
