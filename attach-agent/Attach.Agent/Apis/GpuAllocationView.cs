using Attach.Contracts.Pool;

namespace Attach.Agent.Apis;

/// <summary>One GPU in <see cref="NodeGpusView"/>.</summary>
/// <param name="Gpu">The GPU.</param>
/// <param name="AllocatedMiB">Memory bound to slices.</param>
/// <param name="FreeMiB">Memory not bound to any slice.</param>
/// <param name="AllocatedComputePercent">Sum of the slices' compute shares.</param>
/// <param name="Bindings">The slices bound on it.</param>
internal sealed record GpuAllocationView(GpuInfo Gpu, long AllocatedMiB, long FreeMiB, int AllocatedComputePercent, IReadOnlyList<BindingInfo> Bindings);
