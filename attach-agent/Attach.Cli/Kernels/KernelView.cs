using Attach.Contracts.Kernels;

namespace Attach.Cli.Kernels;

/// <summary>One kernel in <c>attach status --json</c>. Field names are stable; new fields may be added.</summary>
internal sealed record KernelView(
    string KernelId,
    string Owner,
    string State,
    bool Busy,
    GpuView? Gpu,
    long? SliceMiB,
    string? LeaseId,
    DateTimeOffset Since,
    DateTimeOffset? ReleaseAt,
    string Reason)
{
    public static KernelView From(KernelStatus status) => new(
        status.KernelId,
        status.Owner,
        status.State.ToString(),
        status.Busy,
        status.Attachment is { } a ? new GpuView(a.NodeId, a.GpuIndex, a.GpuUuid, a.GpuName, a.Simulated, a.GpuMemoryMiB) : null,
        status.Attachment?.SliceMemoryMiB,
        status.Attachment?.LeaseId,
        status.Since,
        status.ReleaseAt,
        status.Reason);
}

/// <summary>The GPU a kernel's slice is on.</summary>
internal sealed record GpuView(string NodeId, int Index, string Uuid, string Name, bool Simulated, long MemoryMiB);

/// <summary><c>attach status --json</c>.</summary>
internal sealed record StatusView(IReadOnlyList<KernelView> Kernels);
