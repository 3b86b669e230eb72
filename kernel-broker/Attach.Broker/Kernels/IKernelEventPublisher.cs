using Attach.Contracts.Kernels;

namespace Attach.Broker.Kernels;

/// <summary>Takes every state-machine transition, in order, without blocking the caller (it holds a lock).</summary>
internal interface IKernelEventPublisher
{
    void Publish(KernelStateChanged change);
}
