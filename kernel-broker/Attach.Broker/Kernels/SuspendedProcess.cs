namespace Attach.Broker.Kernels;

/// <summary>A kernel's process whose CUDA state the agent copied to host memory, and where it came from.</summary>
/// <param name="NodeId">The node the process runs on; it can only be resumed there.</param>
/// <param name="GpuIndex">The GPU it was suspended from, which a resume prefers.</param>
/// <param name="GpuName">That GPU's name, for people.</param>
/// <param name="Pid">The process.</param>
/// <param name="Bytes">Device memory kept in host memory; null when the agent could not tell.</param>
/// <param name="SliceMemoryMiB">The slice it held.</param>
/// <param name="SuspendedAt">When it was suspended.</param>
internal sealed record SuspendedProcess(string NodeId, int GpuIndex, string GpuName, int Pid, long? Bytes, long SliceMemoryMiB, DateTimeOffset SuspendedAt);
