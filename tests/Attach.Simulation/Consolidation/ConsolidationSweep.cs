using Attach.Simulation.Reporting;
using Attach.Simulation.Scheduling;
using Attach.Simulation.Workday;

namespace Attach.Simulation.Consolidation;

/// <summary>Runs every policy over a range of pool sizes, each on the same simulated days (one trace per seed).</summary>
internal static class ConsolidationSweep
{
    public static SweepPoint Simulate(IReadOnlyList<WorkdayTrace> days, ConsolidationPolicy policy, int gpus, Func<PoolShape, TimeProvider, ISimulatedScheduler> schedulerFactory)
    {
        ArgumentNullException.ThrowIfNull(days);
        var results = days.Select(day => new ConsolidationSimulator(day, policy, gpus, schedulerFactory).Run()).ToList();
        var waits = results.SelectMany(r => r.GpuCellWaits).Order().ToList();
        var attaches = results.SelectMany(r => r.AttachWaits).Order().ToList();
        return new SweepPoint(
            policy,
            results[0].Gpus,
            waits.Count,
            Percentiles.OfSorted(waits, 50),
            Percentiles.OfSorted(waits, 95),
            Percentiles.OfSorted(waits, 99),
            waits[^1],
            waits.Count(w => w > 10) / (double)waits.Count,
            attaches.Count == 0 ? 0 : Percentiles.OfSorted(attaches, 95),
            results.Sum(r => r.AttachRequests),
            results.Sum(r => r.QueuedRequests),
            results.Sum(r => r.Suspends),
            results.Average(r => r.HeldGpuHours));
    }

    public static IReadOnlyList<SweepPoint> Run(IReadOnlyList<WorkdayTrace> days, IEnumerable<int> poolSizes, Func<PoolShape, TimeProvider, ISimulatedScheduler> schedulerFactory, Action<SweepPoint>? progress = null)
    {
        var sizes = poolSizes.ToList();
        var points = new List<SweepPoint> { Simulate(days, ConsolidationPolicy.OneGpuPerDeveloper, 0, schedulerFactory) };
        progress?.Invoke(points[0]);
        foreach (var policy in new[] { ConsolidationPolicy.WholeGpuPooling, ConsolidationPolicy.SlicePooling, ConsolidationPolicy.SlicePoolingWithSuspend })
        {
            foreach (var gpus in sizes)
            {
                var point = Simulate(days, policy, gpus, schedulerFactory);
                points.Add(point);
                progress?.Invoke(point);
            }
        }

        return points;
    }
}
