namespace Attach.Contracts.Kernels;

/// <summary>The broker's answer to an <see cref="ExecutionRequest"/>; it arrives once the slice is bound.</summary>
/// <param name="NeedsGpu">Whether the detection rules say the code uses a GPU.</param>
/// <param name="Rule">The rule that matched (or why none did), for logs and the cell's message.</param>
/// <param name="Attachment">The slice now bound, when <paramref name="NeedsGpu"/>; null when the attach failed.</param>
/// <param name="NewlyAttached">True when this request caused the attach (the cell should say so).</param>
/// <param name="Error">Why the attach failed and what to do, when it failed.</param>
public sealed record ExecutionDecision(
    bool NeedsGpu,
    string Rule,
    AttachmentInfo? Attachment,
    bool NewlyAttached,
    string? Error);
