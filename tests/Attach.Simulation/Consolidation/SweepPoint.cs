namespace Attach.Simulation.Consolidation;

/// <summary>One policy at one pool size, over every simulated day: wait percentiles of GPU cells and the counts behind them.</summary>
internal sealed record SweepPoint(
    ConsolidationPolicy Policy,
    int Gpus,
    int GpuCells,
    double P50Seconds,
    double P95Seconds,
    double P99Seconds,
    double MaxSeconds,
    double ShareWaitingOver10Seconds,
    double AttachP95Seconds,
    int AttachRequests,
    int QueuedRequests,
    int Suspends,
    double HeldGpuHoursPerDay)
{
    /// <summary>The target of issue #4: p95 wait of at most 10 s.</summary>
    public bool MeetsWaitTarget => P95Seconds <= 10;
}
