namespace Attach.Agent.Containers;

/// <summary>A container operation that did not happen.</summary>
/// <param name="Kind">Why.</param>
/// <param name="Detail">What went wrong and what to do about it, for people.</param>
internal sealed record ContainerFailure(ContainerFailureKind Kind, string Detail);
