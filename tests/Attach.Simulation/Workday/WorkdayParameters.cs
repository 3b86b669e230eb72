namespace Attach.Simulation.Workday;

/// <summary>
/// The workday model of docs/consolidation.md: how many notebook sessions a developer opens, how long they think
/// between cells, how long GPU cells run, what slice a session needs. Times are in seconds unless named otherwise.
/// The defaults are the calibrated model (assumptions stated in docs/consolidation.md, not measurements).
/// </summary>
internal sealed record WorkdayParameters
{
    public int Developers { get; init; } = 50;

    /// <summary>The length of a developer's working day; sessions start inside it (the last may run past its end).</summary>
    public double WorkdayHours { get; init; } = 8;

    /// <summary>Developers start between 08:30 and 08:30 + this, uniformly.</summary>
    public double StartSpreadMinutes { get; init; } = 60;

    /// <summary>Mean of the exponential gap before each notebook session (meetings, reviews, other work).</summary>
    public double MeanGapMinutes { get; init; } = 50;

    /// <summary>Median planned length of a notebook session (log-normal).</summary>
    public double SessionMedianMinutes { get; init; } = 40;

    public double SessionSigma { get; init; } = 0.5;

    /// <summary>Share of sessions that use a GPU at all (the rest are pandas, plotting, writing).</summary>
    public double GpuSessionShare { get; init; } = 0.6;

    /// <summary>In a GPU session, the share of cells that run on the GPU.</summary>
    public double GpuCellShare { get; init; } = 0.3;

    /// <summary>Median think time before a cell: reading output, editing code (log-normal).</summary>
    public double ThinkMedianSeconds { get; init; } = 45;

    public double ThinkSigma { get; init; } = 1.0;

    /// <summary>Median length of an ordinary GPU cell (a forward pass, a few epochs on a sample; log-normal).</summary>
    public double GpuBurstMedianSeconds { get; init; } = 12;

    public double GpuBurstSigma { get; init; } = 1.3;

    /// <summary>Share of GPU cells that are a training run in the notebook, much longer (log-normal).</summary>
    public double TrainingRunShare { get; init; } = 0.03;

    public double TrainingMedianMinutes { get; init; } = 8;

    public double TrainingSigma { get; init; } = 0.6;

    /// <summary>Median length of a CPU cell (log-normal).</summary>
    public double CpuCellMedianSeconds { get; init; } = 1.5;

    public double CpuCellSigma { get; init; } = 1.0;

    /// <summary>A session's device memory in use, as a share of its slice: uniform in [min, max] (what a suspend copies).</summary>
    public double UsedMemoryShareMin { get; init; } = 0.3;

    public double UsedMemoryShareMax { get; init; } = 0.9;

    /// <summary>The GPU the pool is made of: memory per GPU.</summary>
    public long GpuMemoryMiB { get; init; } = 80 * 1024;

    /// <summary>The slice a GPU session asks for (an 80 GiB GPU: quarter, half, full).</summary>
    public IReadOnlyList<SliceProfile> Profiles { get; init; } =
    [
        new("quarter", 20 * 1024, 25, 0.5),
        new("half", 40 * 1024, 50, 0.3),
        new("full", 80 * 1024, 100, 0.2),
    ];

    /// <summary>The broker's idle policy: an attached kernel idle this long gives its slice back (BrokerOptions.IdleTimeout's default).</summary>
    public double IdleTimeoutSeconds { get; init; } = 300;

    /// <summary>With suspend-to-host, how long a kernel stays attached after a cell before it is suspended (0: at once).</summary>
    public double SuspendAfterIdleSeconds { get; init; }

    /// <summary>Suspend/resume cost model of docs/simulation.md: fixed overhead plus bytes over host-link bandwidth.</summary>
    public double SuspendFixedOverheadSeconds { get; init; } = 0.2;

    public double CheckpointGBps { get; init; } = 50;

    public double RestoreGBps { get; init; } = 50;

    public double SuspendSeconds(long bytes) => SuspendFixedOverheadSeconds + (bytes / (CheckpointGBps * 1e9));

    public double ResumeSeconds(long bytes) => SuspendFixedOverheadSeconds + (bytes / (RestoreGBps * 1e9));
}
