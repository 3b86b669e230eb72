namespace Attach.Simulation.Consolidation;

/// <summary>
/// What one simulated day gave: the wait of every GPU cell (seconds from the cell being run to it starting on a GPU,
/// queueing and any resume included; zero when the kernel already held its slice), the wait of every attach request alone (the cells that had to ask the
/// scheduler for a slice), and the counts behind them.
/// </summary>
internal sealed record ConsolidationResult(
    ConsolidationPolicy Policy,
    int Gpus,
    IReadOnlyList<double> GpuCellWaits,
    IReadOnlyList<double> AttachWaits,
    int AttachRequests,
    int QueuedRequests,
    int Suspends,
    double HeldGpuHours,
    double SimulatedHours);
