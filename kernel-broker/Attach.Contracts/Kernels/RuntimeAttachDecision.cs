namespace Attach.Contracts.Kernels;

/// <summary>The broker's answer to a <see cref="RuntimeAttachRequest"/> (always 200 for a well-formed request).</summary>
/// <param name="Status">Granted, queued or refused.</param>
/// <param name="Attachment">The slice bound on the requesting node, when granted.</param>
/// <param name="NewlyAttached">True when this request caused the attach (false: the session already held it).</param>
/// <param name="QueuePosition">1-based place in the queue, when queued.</param>
/// <param name="EtaSeconds">The broker's estimate of the wait, when queued and known.</param>
/// <param name="Error">Why the lease was refused and what to do, when refused.</param>
public sealed record RuntimeAttachDecision(
    RuntimeAttachStatus Status,
    AttachmentInfo? Attachment,
    bool NewlyAttached,
    int? QueuePosition,
    double? EtaSeconds,
    string? Error);
