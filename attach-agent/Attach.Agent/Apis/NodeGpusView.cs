using Attach.Contracts.Pool;

namespace Attach.Agent.Apis;

/// <summary><c>GET /api/v1/gpus</c>: the node's backend and what is bound on each GPU.</summary>
/// <param name="Backend">The GPU backend and why it was chosen.</param>
/// <param name="Gpus">Every GPU, by index.</param>
/// <param name="ReadAt">When the GPUs' memory, utilisation and processes were read; null before the first reading.</param>
/// <param name="ReadingError">Why the latest reading failed (the figures are then from <paramref name="ReadAt"/>); null when it succeeded.</param>
internal sealed record NodeGpusView(GpuBackendInfo Backend, IReadOnlyList<GpuAllocationView> Gpus, DateTimeOffset? ReadAt = null, string? ReadingError = null);
