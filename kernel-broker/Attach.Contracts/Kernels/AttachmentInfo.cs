namespace Attach.Contracts.Kernels;

/// <summary>A GPU slice bound to a kernel.</summary>
/// <param name="LeaseId">The lease that holds the slice.</param>
/// <param name="NodeId">The agent's node.</param>
/// <param name="GpuIndex">The GPU's index on its node.</param>
/// <param name="GpuUuid">The GPU's UUID (what <c>CUDA_VISIBLE_DEVICES</c> names).</param>
/// <param name="GpuName">The GPU's display name; simulated GPUs say so in it.</param>
/// <param name="Simulated">True when the GPU comes from the simulated backend.</param>
/// <param name="SliceMemoryMiB">Device memory granted to the slice.</param>
/// <param name="GpuMemoryMiB">The whole GPU's memory.</param>
/// <param name="WaitSeconds">How long the request waited from arrival to bound.</param>
public sealed record AttachmentInfo(
    string LeaseId,
    string NodeId,
    int GpuIndex,
    string GpuUuid,
    string GpuName,
    bool Simulated,
    long SliceMemoryMiB,
    long GpuMemoryMiB,
    double WaitSeconds);
