using Attach.Broker.Pool;

namespace Attach.Broker.Persistence;

/// <summary>What a store held at startup.</summary>
/// <param name="Leases">Every lease that held capacity when the broker stopped.</param>
/// <param name="Epoch">The highest epoch ever handed out or adopted; new leases continue above it.</param>
/// <param name="Kernels">Each known kernel and the user it belongs to.</param>
internal sealed record StoredBrokerState(IReadOnlyList<Lease> Leases, long Epoch, IReadOnlyList<StoredKernel> Kernels);
