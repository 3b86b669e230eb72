namespace Attach.Contracts.Kernels;

/// <summary>Published on every state-machine transition (hub, log, metric).</summary>
/// <param name="KernelId">The kernel.</param>
/// <param name="From">The state left.</param>
/// <param name="To">The state entered.</param>
/// <param name="Reason">Why, in words a user can act on.</param>
/// <param name="Status">The kernel's full status after the transition.</param>
public sealed record KernelStateChanged(
    string KernelId,
    KernelState From,
    KernelState To,
    string Reason,
    KernelStatus Status);
