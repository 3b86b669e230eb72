using Attach.Contracts.Pool;

namespace Attach.Agent.Suspend;

/// <summary>A process with CUDA state, and where that state lives.</summary>
/// <param name="Pid">The process id, as the agent's PID namespace sees it.</param>
/// <param name="Gpu">The GPU the process runs on, or was suspended from.</param>
/// <param name="SliceMiB">The device memory its lease grants: an upper bound on what it can hold.</param>
internal sealed record CudaProcess(int Pid, GpuInfo Gpu, long SliceMiB);
