using Attach.Contracts.Pool;

namespace Attach.Agent.Apis;

/// <summary><c>GET /api/v1/gpus</c>: the node's backend and what is bound on each GPU.</summary>
/// <param name="Backend">The GPU backend and why it was chosen.</param>
/// <param name="Gpus">Every GPU, by index.</param>
internal sealed record NodeGpusView(GpuBackendInfo Backend, IReadOnlyList<GpuAllocationView> Gpus);
