using Attach.Contracts.Pool;

namespace Attach.Cli.Pool;

/// <summary>
/// <c>attach pool --json</c>. Field names are stable; new fields may be added. <c>queue</c> is null: the
/// broker has no queue yet (a request that finds no free slice is refused with the reason).
/// </summary>
internal sealed record PoolJson(IReadOnlyList<PoolNodeJson> Nodes, long MemoryUsedMiB, long MemoryTotalMiB, IReadOnlyList<object>? Queue)
{
    public static PoolJson From(PoolView pool) => new(
        [.. pool.Nodes.OrderBy(n => n.NodeId, StringComparer.Ordinal).Select(n => new PoolNodeJson(
            n.NodeId,
            new PoolBackendJson(n.Backend.Name, n.Backend.Simulated, n.Backend.Reason),
            n.LastHeartbeat,
            [.. n.Gpus.OrderBy(g => g.Gpu.Index).Select(g => new PoolGpuJson(
                g.Gpu.Index,
                g.Gpu.Uuid,
                g.Gpu.Model,
                g.Gpu.DisplayName,
                g.Gpu.Simulated,
                g.AllocatedMiB,
                g.Gpu.MemoryTotalMiB,
                [.. g.Leases.Select(l => new PoolHolderJson(l.LeaseId, l.KernelId, l.Owner, l.MemoryMiB, l.ComputePercent, l.Since))]))]))],
        pool.TotalMiB - pool.FreeMiB,
        pool.TotalMiB,
        null);
}

/// <summary>One node (one agent).</summary>
internal sealed record PoolNodeJson(string NodeId, PoolBackendJson Backend, DateTimeOffset LastHeartbeat, IReadOnlyList<PoolGpuJson> Gpus);

/// <summary>How the node's agent found its GPUs (simulated where no NVIDIA device exists).</summary>
internal sealed record PoolBackendJson(string Name, bool Simulated, string Reason);

/// <summary>One GPU: <c>name</c> says "(simulated)" for simulated ones, and so does <c>simulated</c>.</summary>
internal sealed record PoolGpuJson(
    int Index,
    string Uuid,
    string Model,
    string Name,
    bool Simulated,
    long MemoryUsedMiB,
    long MemoryTotalMiB,
    IReadOnlyList<PoolHolderJson> Holders);

/// <summary>A slice bound on a GPU. Other users' slices show "(another user)" instead of who and which kernel.</summary>
internal sealed record PoolHolderJson(string LeaseId, string KernelId, string Owner, long MemoryMiB, int ComputePercent, DateTimeOffset Since);
