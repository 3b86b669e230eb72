namespace Attach.Contracts.Pool;

/// <summary>The whole pool as the broker sees it: <c>GET /api/v1/pool</c>.</summary>
/// <param name="Nodes">Every registered node.</param>
public sealed record PoolView(IReadOnlyList<NodeView> Nodes)
{
    /// <summary>Device memory not bound to any slice, over every node.</summary>
    public long FreeMiB => Nodes.Sum(n => n.Gpus.Sum(g => g.FreeMiB));

    /// <summary>Device memory in the pool.</summary>
    public long TotalMiB => Nodes.Sum(n => n.Gpus.Sum(g => g.Gpu.MemoryTotalMiB));
}

/// <summary>One node in <see cref="PoolView"/>.</summary>
/// <param name="NodeId">The node.</param>
/// <param name="Backend">Its GPU backend.</param>
/// <param name="LastHeartbeat">When the agent was last heard from.</param>
/// <param name="Gpus">Its GPUs and what is bound on each.</param>
public sealed record NodeView(string NodeId, GpuBackendInfo Backend, DateTimeOffset LastHeartbeat, IReadOnlyList<PoolGpuView> Gpus);

/// <summary>One GPU in <see cref="PoolView"/>.</summary>
/// <param name="Gpu">The GPU.</param>
/// <param name="AllocatedMiB">Memory bound to slices.</param>
/// <param name="Leases">The slices bound on it.</param>
public sealed record PoolGpuView(GpuInfo Gpu, long AllocatedMiB, IReadOnlyList<LeaseView> Leases)
{
    /// <summary>Memory not bound to any slice.</summary>
    public long FreeMiB => Gpu.MemoryTotalMiB - AllocatedMiB;
}

/// <summary>One slice in <see cref="PoolGpuView"/>.</summary>
/// <param name="LeaseId">The lease.</param>
/// <param name="KernelId">Who holds it.</param>
/// <param name="Owner">The kernel's user.</param>
/// <param name="MemoryMiB">Its memory.</param>
/// <param name="ComputePercent">Its share of the SMs.</param>
/// <param name="Since">When it was bound.</param>
public sealed record LeaseView(string LeaseId, string KernelId, string Owner, long MemoryMiB, int ComputePercent, DateTimeOffset Since);
