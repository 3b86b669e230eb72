using Attach.Contracts.Pool;

namespace Attach.Agent.Suspend;

/// <summary>The process the agent knows under a lease, and where its CUDA state is.</summary>
/// <param name="LeaseId">The lease.</param>
/// <param name="Pid">The process.</param>
/// <param name="Gpu">The GPU it runs on, or was suspended from.</param>
/// <param name="SliceMiB">The device memory its lease granted.</param>
/// <param name="State">Its CUDA state after the last suspend or resume; null when never read.</param>
/// <param name="HostBytes">Device memory kept in host memory while suspended; null when unknown or not suspended.</param>
internal sealed record LeaseProcess(string LeaseId, int Pid, GpuInfo Gpu, long SliceMiB, CudaProcessState? State, long? HostBytes);
