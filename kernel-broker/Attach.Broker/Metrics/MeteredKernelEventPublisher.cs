using Attach.Broker.Kernels;
using Attach.Contracts.Kernels;

namespace Attach.Broker.Metrics;

/// <summary>Counts every transition in <see cref="BrokerMetrics"/>, then hands it on to the publisher it decorates.</summary>
internal sealed class MeteredKernelEventPublisher(IKernelEventPublisher inner, BrokerMetrics metrics) : IKernelEventPublisher
{
    public void Publish(KernelStateChanged change)
    {
        metrics.Record(change);
        inner.Publish(change);
    }
}
