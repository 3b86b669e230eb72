using Attach.Contracts.Kernels;

namespace Attach.Broker.Kernels;

/// <summary>What <see cref="KernelStateMachine.Watch"/> reports after each change.</summary>
/// <param name="Status">The kernel's status.</param>
/// <param name="QueueLength">How many requests wait in all, when the kernel is queued.</param>
/// <param name="Binding">True once a slice was chosen and the agent is binding it (Attaching after placement, not while placing).</param>
internal readonly record struct KernelProgress(KernelStatus Status, int? QueueLength, bool Binding);
