using Attach.Contracts.Pool;

namespace Attach.Broker.Pool;

/// <summary>
/// A slice of one GPU reserved for one kernel. Its capacity counts as taken from reservation until the
/// agent confirms the unbind, so a slice is never handed out twice. <see cref="Status"/> changes only
/// under <see cref="LeaseTable"/>'s lock.
/// </summary>
internal sealed class Lease
{
    public required string LeaseId { get; init; }

    /// <summary>Fencing token: agents refuse a call carrying an older epoch for the same lease.</summary>
    public required long Epoch { get; init; }

    public required string KernelId { get; init; }

    public required string Owner { get; init; }

    public required string NodeId { get; init; }

    public required Uri AgentUrl { get; init; }

    public required GpuInfo Gpu { get; init; }

    public required long MemoryMiB { get; init; }

    public required int ComputePercent { get; init; }

    /// <summary>The MIG instance (<c>MIG-…</c>) the slice is, on a GPU in MIG mode; null for a slice of a whole GPU.</summary>
    public string? MigUuid { get; init; }

    public required DateTimeOffset Since { get; init; }

    public LeaseStatus Status { get; set; }
}
