namespace Attach.Broker.Scheduling;

/// <summary>What a kernel asks the <see cref="PoolScheduler"/> for.</summary>
/// <param name="AllocationId">The id the slice will carry once placed (the lease id); unique.</param>
/// <param name="KernelId">The kernel; a kernel waits in the queue at most once.</param>
/// <param name="User">Whose quota and fair share it counts against.</param>
/// <param name="Group">The user's group (its quota applies too); null for none.</param>
/// <param name="Priority">Interactive or batch.</param>
/// <param name="MemoryMiB">Device memory; ignored when <paramref name="GpuFraction"/> is set.</param>
/// <param name="ComputePercent">Share of the GPU's SMs (1-100).</param>
/// <param name="GpuFraction">A share of whichever GPU it lands on (a "half" profile: 0.5); null for a size in MiB.</param>
/// <param name="RequiredNodeId">The only node it may go to (a process already runs there); null for any.</param>
/// <param name="PreferredNodeId">The node to try first (the kernel's node).</param>
/// <param name="PreferredGpuIndex">The GPU on the preferred node to try first (a resume goes back where it was).</param>
internal sealed record SliceDemand(
    string AllocationId,
    string KernelId,
    string User,
    string? Group,
    PriorityClass Priority,
    long MemoryMiB,
    int ComputePercent,
    double? GpuFraction = null,
    string? RequiredNodeId = null,
    string? PreferredNodeId = null,
    int? PreferredGpuIndex = null);
