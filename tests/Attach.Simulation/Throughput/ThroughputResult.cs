namespace Attach.Simulation.Throughput;

/// <summary>What the throughput run measured: decisions (submit and release calls) per second on one thread, and the process's memory.</summary>
internal sealed record ThroughputResult(
    string Scheduler,
    string Scenario,
    int Gpus,
    int Kernels,
    int InitialPlaced,
    long Decisions,
    long Placements,
    double Seconds,
    double DecisionsPerSecond,
    double MicrosecondsPerSubmit,
    double MicrosecondsPerRelease,
    int QueueAtEnd,
    long RssBytes,
    long PeakRssBytes,
    long GcHeapBytes)
{
    public const double TargetDecisionsPerSecond = 50_000;

    public const long TargetRssBytes = 300L * 1000 * 1000;
}
