using Attach.Contracts.Kernels;

namespace Attach.Broker.Kernels;

/// <summary>What <see cref="KernelStateMachine.EnsureAttachedAsync"/> achieved.</summary>
/// <param name="Attachment">The bound slice; null when the attach failed.</param>
/// <param name="NewlyAttached">True when this call's attach bound the slice (not an earlier one).</param>
/// <param name="Error">Why the attach failed.</param>
internal sealed record AttachOutcome(AttachmentInfo? Attachment, bool NewlyAttached, string? Error);
