using Attach.Broker;
using Attach.Broker.Pool;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;

namespace Attach.Simulation.Scheduling;

/// <summary>
/// The broker's placement as it stood before the pool scheduler (LeaseTable + SlicePlacer: best-fit slices) with a
/// strict FIFO queue written here, since the broker had none. Used only when the real scheduler is not available;
/// the report says so.
/// </summary>
internal sealed class LeaseTableFifoScheduler : ISimulatedScheduler
{
    private readonly LeaseTable _table;
    private readonly Dictionary<string, string> _leaseOfKernel = new(StringComparer.Ordinal);
    private readonly LinkedList<(string KernelId, string User, SliceRequest Request)> _queue = new();

    public LeaseTableFifoScheduler(PoolShape pool, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var options = Options.Create(new BrokerOptions { NodeStaleAfter = TimeSpan.MaxValue });
        var nodes = new NodeRegistry(clock, options);
        foreach (var (nodeId, count) in pool.Nodes())
        {
            var gpus = Enumerable.Range(0, count)
                .Select(i => new GpuInfo(i, $"SIM-{nodeId}-{i}", "A100 80GB", pool.GpuMemoryMiB, Simulated: true))
                .ToList();
            nodes.Record(new NodeHeartbeat(nodeId, new Uri($"http://{nodeId}.invalid/"), new GpuBackendInfo("simulated", true, "simulation"), gpus, []));
        }

        _table = new LeaseTable(nodes, clock);
    }

    public string Name => "LeaseTable + SlicePlacer (best fit) with a FIFO queue written in the simulation";

    public bool Submit(string kernelId, string user, long memoryMiB, int computePercent)
    {
        var request = new SliceRequest(memoryMiB, computePercent);
        if (_queue.Count == 0 && TryPlace(kernelId, user, request))
        {
            return true;
        }

        _queue.AddLast((kernelId, user, request));
        return false;
    }

    public IReadOnlyList<string> Release(string kernelId)
    {
        if (!_leaseOfKernel.Remove(kernelId, out var leaseId))
        {
            throw new InvalidOperationException($"{kernelId} holds no lease");
        }

        _table.Remove(leaseId);
        var placed = new List<string>();
        while (_queue.First is { } head && TryPlace(head.Value.KernelId, head.Value.User, head.Value.Request))
        {
            placed.Add(head.Value.KernelId);
            _queue.RemoveFirst();
        }

        return placed;
    }

    public void Cancel(string kernelId)
    {
        for (var node = _queue.First; node is not null; node = node.Next)
        {
            if (node.Value.KernelId == kernelId)
            {
                _queue.Remove(node);
                return;
            }
        }
    }

    private bool TryPlace(string kernelId, string user, SliceRequest request)
    {
        var reservation = _table.Reserve(kernelId, user, request);
        if (reservation.Lease is not { } lease)
        {
            return false;
        }

        _leaseOfKernel.Add(kernelId, lease.LeaseId);
        return true;
    }
}
