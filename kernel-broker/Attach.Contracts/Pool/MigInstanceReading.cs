namespace Attach.Contracts.Pool;

/// <summary>
/// One MIG device (a compute instance inside a GPU instance), in <see cref="GpuMigReading.Instances"/>. The profile
/// (e.g. <c>1g.10gb</c>) is not part of <c>nvidia-smi -q -x</c>; its memory and multiprocessor count identify it.
/// </summary>
/// <param name="Index">The MIG device's index on its GPU.</param>
/// <param name="GpuInstanceId">The GPU instance.</param>
/// <param name="ComputeInstanceId">The compute instance within it.</param>
/// <param name="MultiprocessorCount">Its streaming multiprocessors; null when not reported.</param>
/// <param name="MemoryTotalMiB">Its device memory; null when not reported.</param>
/// <param name="MemoryUsedMiB">Device memory in use on it; null when not reported.</param>
/// <param name="Uuid">
/// Its MIG device UUID (<c>MIG-…</c>, from <c>nvidia-smi -L</c>): what <c>CUDA_VISIBLE_DEVICES</c> names to confine a
/// process to this instance; null when the agent could not read it.
/// </param>
public sealed record MigInstanceReading(
    int Index,
    int GpuInstanceId,
    int ComputeInstanceId,
    int? MultiprocessorCount,
    long? MemoryTotalMiB,
    long? MemoryUsedMiB,
    string? Uuid = null);
