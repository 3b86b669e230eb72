namespace Attach.Broker.Scheduling;

/// <summary>A slice the <see cref="PoolScheduler"/> placed (or adopted): its capacity is taken until it is released.</summary>
/// <param name="AllocationId">The lease id.</param>
/// <param name="KernelId">The kernel holding it.</param>
/// <param name="User">The kernel's owner.</param>
/// <param name="Group">The owner's group, if any.</param>
/// <param name="Priority">The class it was requested in.</param>
/// <param name="NodeId">The node.</param>
/// <param name="GpuIndex">The GPU on the node.</param>
/// <param name="MigIndex">The MIG instance, when the GPU is in MIG mode.</param>
/// <param name="MemoryMiB">Device memory taken (a whole MIG instance for MIG slices).</param>
/// <param name="ComputePercent">Share of the GPU's SMs taken (100 for a MIG instance).</param>
/// <param name="GpuMemoryMiB">The whole GPU's memory.</param>
/// <param name="RequestedAt">When the request arrived (equal to <paramref name="PlacedAt"/> for an adoption).</param>
/// <param name="PlacedAt">When it was placed.</param>
/// <param name="MigUuid">The MIG instance's UUID (<c>MIG-…</c>), when the GPU is in MIG mode and the agent reported it.</param>
internal sealed record SliceAllocation(
    string AllocationId,
    string KernelId,
    string User,
    string? Group,
    PriorityClass Priority,
    string NodeId,
    int GpuIndex,
    int? MigIndex,
    long MemoryMiB,
    int ComputePercent,
    long GpuMemoryMiB,
    DateTimeOffset RequestedAt,
    DateTimeOffset PlacedAt,
    string? MigUuid = null)
{
    /// <summary>How long the request waited for its slice.</summary>
    public TimeSpan Waited => PlacedAt - RequestedAt;
}
