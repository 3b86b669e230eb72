namespace Attach.Agent.Suspend;

/// <summary>A suspend, resume or state query that did not happen.</summary>
/// <param name="Kind">Why.</param>
/// <param name="Detail">What went wrong and what to do about it, for people.</param>
internal sealed record SuspendFailure(SuspendFailureKind Kind, string Detail);
