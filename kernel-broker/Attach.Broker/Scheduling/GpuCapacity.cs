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
/// <param name="Index">The MIG device's index on its GPU.</param>
/// <param name="MemoryMiB">Its memory.</param>
/// <param name="Uuid">Its UUID (<c>MIG-…</c>), what a process given it sees; null when the agent did not report it.</param>
internal sealed record MigSlice(int Index, long MemoryMiB, string? Uuid = null);
