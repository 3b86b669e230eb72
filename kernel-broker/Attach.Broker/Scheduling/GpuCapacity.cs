namespace Attach.Broker.Scheduling;

/// <summary>One GPU of a node as the scheduler counts it.</summary>
/// <param name="Index">The GPU's index on its node.</param>
/// <param name="MemoryMiB">Physical device memory.</param>
/// <param name="MigInstances">
/// MIG instances when the GPU is in MIG mode: each is a fixed slice handed out whole to one kernel, and the GPU is
/// then never sliced by memory. Null or empty: the GPU is sliced by memory and compute share.
/// </param>
internal sealed record GpuCapacity(int Index, long MemoryMiB, IReadOnlyList<MigSlice>? MigInstances = null);

/// <summary>One MIG instance: a fixed slice of <paramref name="MemoryMiB"/>.</summary>
internal sealed record MigSlice(int Index, long MemoryMiB);
