using Attach.Broker.Scheduling;

namespace Attach.Broker.Pool;

/// <summary>How much of a GPU a kernel asks for.</summary>
/// <param name="MemoryMiB">Device memory (ignored when <paramref name="GpuFraction"/> is set).</param>
/// <param name="ComputePercent">Share of the SMs.</param>
/// <param name="NodeId">The node the slice must be on (a process already running there); null for any node.</param>
/// <param name="GpuFraction">A share of whichever GPU it lands on (the "half" profile: 0.5); null for a size in MiB.</param>
/// <param name="Priority">Interactive (a person waits) or batch.</param>
/// <param name="Group">The owner's group, for group quotas; null for none.</param>
/// <param name="PreferredNodeId">The node to try first (where the kernel's last slice was).</param>
/// <param name="PreferredGpuIndex">The GPU on <paramref name="PreferredNodeId"/> to try first (a resume goes back where it was).</param>
/// <param name="Profile">The slice profile it was chosen by (its idle policy applies), if any.</param>
internal readonly record struct SliceRequest(
    long MemoryMiB,
    int ComputePercent,
    string? NodeId = null,
    double? GpuFraction = null,
    PriorityClass Priority = PriorityClass.Interactive,
    string? Group = null,
    string? PreferredNodeId = null,
    int? PreferredGpuIndex = null,
    string? Profile = null);
