using Attach.Contracts.Pool;

namespace Attach.Broker.Pool;

/// <summary>
/// Chooses the GPU for a slice: best fit (the GPU that will have the least memory left), so large holes
/// stay free for large requests; on a tie, a GPU that is already shared, then node and index order.
/// Pure: callers hold <see cref="LeaseTable"/>'s lock so the choice and the reservation are one step.
/// </summary>
internal static class SlicePlacer
{
    /// <summary>
    /// Why <paramref name="request"/> cannot be placed now, for a caller that would rather be refused than wait. The
    /// <see cref="Scheduling.PoolScheduler"/> places; this only explains (the largest hole), and says so when the room
    /// there is kept for requests that were waiting first.
    /// </summary>
    public static string Explain(IReadOnlyList<RegisteredNode> nodes, IEnumerable<Lease> leases, SliceRequest request) =>
        Place(nodes, leases, request).Failure
        ?? "the free capacity is kept for requests that were waiting before this one; try again when they are served";

    public static Placement Place(IReadOnlyList<RegisteredNode> nodes, IEnumerable<Lease> leases, SliceRequest request)
    {
        var used = leases
            .GroupBy(l => (l.NodeId, l.Gpu.Index))
            .ToDictionary(g => g.Key, g => (Memory: g.Sum(l => l.MemoryMiB), Compute: g.Sum(l => l.ComputePercent)));

        (RegisteredNode Node, GpuInfo Gpu, long FreeAfter, bool Shared)? best = null;
        long largestFree = 0;
        var gpuCount = 0;
        foreach (var node in nodes.Where(n => request.NodeId is null || n.Heartbeat.NodeId == request.NodeId))
        {
            foreach (var gpu in node.Heartbeat.Gpus.OrderBy(g => g.Index))
            {
                gpuCount++;
                var (memory, compute) = used.GetValueOrDefault((node.Heartbeat.NodeId, gpu.Index));
                var free = gpu.MemoryTotalMiB - memory;
                largestFree = Math.Max(largestFree, free);
                if (free < request.MemoryMiB || compute + request.ComputePercent > 100)
                {
                    continue;
                }

                var candidate = (node, gpu, FreeAfter: free - request.MemoryMiB, Shared: memory > 0);
                if (best is null
                    || candidate.FreeAfter < best.Value.FreeAfter
                    || (candidate.FreeAfter == best.Value.FreeAfter && candidate.Shared && !best.Value.Shared))
                {
                    best = candidate;
                }
            }
        }

        if (best is { } chosen)
        {
            return Placement.On(chosen.Node, chosen.Gpu);
        }

        return Placement.None(gpuCount == 0
            ? request.NodeId is { } nodeId
                ? $"node {nodeId} is not registered with the broker (or its agent stopped sending heartbeats): check its attach agent"
                : "no GPU node is registered with the broker: check that an attach agent is running and can reach the broker"
            : $"no GPU has {MemorySize.Format(request.MemoryMiB)} and {request.ComputePercent}% of its compute free (largest free: {MemorySize.Format(largestFree)} on {gpuCount} GPUs); try again when a slice is released, or ask for a smaller slice");
    }

}

/// <summary>Where a slice goes, or why it cannot go anywhere.</summary>
internal sealed record Placement(RegisteredNode? Node, GpuInfo? Gpu, string? Failure)
{
    public static Placement On(RegisteredNode node, GpuInfo gpu) => new(node, gpu, null);

    public static Placement None(string reason) => new(null, null, reason);
}
