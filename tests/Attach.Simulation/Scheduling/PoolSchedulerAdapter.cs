using Attach.Broker.Scheduling;

namespace Attach.Simulation.Scheduling;

/// <summary>
/// The broker's <see cref="PoolScheduler"/>, driven as the broker drives it: one node per 8 GPUs, every request
/// interactive, one new allocation id per request, the default <see cref="SchedulerSettings"/> (fair share across
/// users, no quotas).
/// </summary>
internal sealed class PoolSchedulerAdapter : ISimulatedScheduler
{
    private readonly PoolScheduler _scheduler;
    private readonly Dictionary<string, string> _allocationOfKernel = new(StringComparer.Ordinal);
    private readonly List<SliceAllocation> _placed = [];
    private long _nextAllocation;

    public PoolSchedulerAdapter(PoolShape pool, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(pool);
        _scheduler = new PoolScheduler(new SchedulerSettings(), clock);
        foreach (var (nodeId, count) in pool.Nodes())
        {
            _scheduler.UpsertNode(nodeId, [.. Enumerable.Range(0, count).Select(i => new GpuCapacity(i, pool.GpuMemoryMiB))]);
        }
    }

    public string Name => "Attach.Broker.Scheduling.PoolScheduler";

    public bool Submit(string kernelId, string user, long memoryMiB, int computePercent, List<string> alsoPlaced)
    {
        ArgumentNullException.ThrowIfNull(alsoPlaced);
        var allocationId = $"lease-{_nextAllocation++}";
        _placed.Clear();
        var result = _scheduler.Submit(new SliceDemand(allocationId, kernelId, user, null, PriorityClass.Interactive, memoryMiB, computePercent), _placed);
        Collect(alsoPlaced);
        switch (result.Outcome)
        {
            case SubmitOutcome.Placed:
                _allocationOfKernel.Add(kernelId, result.Allocation!.AllocationId);
                return true;
            case SubmitOutcome.Queued:
                return false;
            default:
                throw new InvalidOperationException($"the scheduler refused {kernelId} ({memoryMiB} MiB, {computePercent}%): {result.Reason}");
        }
    }

    public void Release(string kernelId, List<string> placed)
    {
        ArgumentNullException.ThrowIfNull(placed);
        if (!_allocationOfKernel.Remove(kernelId, out var allocationId))
        {
            throw new InvalidOperationException($"{kernelId} holds no slice");
        }

        _placed.Clear();
        if (!_scheduler.Release(allocationId, _placed))
        {
            throw new InvalidOperationException($"the scheduler does not know {allocationId} of {kernelId}");
        }

        Collect(placed);
    }

    private void Collect(List<string> into)
    {
        foreach (var allocation in _placed)
        {
            _allocationOfKernel.Add(allocation.KernelId, allocation.AllocationId);
            into.Add(allocation.KernelId);
        }
    }
}
