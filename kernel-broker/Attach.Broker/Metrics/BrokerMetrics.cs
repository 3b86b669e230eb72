using Attach.Contracts.Kernels;
using Prometheus;

namespace Attach.Broker.Metrics;

/// <summary>
/// The broker's Prometheus metrics, in a registry of its own (not prometheus-net's process-wide default, so two
/// brokers in one process, as in tests, never mix their numbers). Transitions feed it as they are published
/// (<see cref="MeteredKernelEventPublisher"/>); <see cref="PoolGauges"/> sets the rest from the pool at scrape time.
/// </summary>
internal sealed class BrokerMetrics
{
    /// <summary>From a cell that gets its slice at once to one that queued for ten minutes.</summary>
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    private readonly TimeProvider _timeProvider;

    public BrokerMetrics(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        AttachLatency = factory.CreateHistogram(
            "attach_attach_latency_seconds",
            "Time from a GPU request's arrival until its slice was bound (AttachmentInfo.WaitSeconds), per attach.",
            new HistogramConfiguration { Buckets = LatencyBuckets });
        Transitions = factory.CreateCounter(
            "attach_kernel_transitions_total",
            "Kernel state-machine transitions published, by state left and state entered (Attached to Attached: busy/idle).",
            new CounterConfiguration { LabelNames = ["from", "to"] });
        QueueLength = factory.CreateGauge("attach_queue_length", "Kernels waiting in the pool's queue (state Queued).");
        string[] gpuLabels = ["node", "gpu", "model"];
        SlicesAllocated = factory.CreateGauge(
            "attach_slices_allocated",
            "Slices (leases) holding capacity on a GPU, bound or being bound or released.",
            new GaugeConfiguration { LabelNames = gpuLabels });
        GpuMemoryAllocated = factory.CreateGauge(
            "attach_gpu_memory_allocated_bytes",
            "Device memory of a GPU given to slices.",
            new GaugeConfiguration { LabelNames = gpuLabels });
        GpuMemoryTotal = factory.CreateGauge(
            "attach_gpu_memory_total_bytes",
            "Device memory of a GPU, as its agent reports it (simulated GPUs say so in the model label).",
            new GaugeConfiguration { LabelNames = gpuLabels });
        GpuSecondsUsed = factory.CreateCounter(
            "attach_gpu_seconds_used_total",
            "GPU-seconds leased since the broker started: time each slice was held x its share of the GPU's memory.");
        GpuSecondsOneGpuPerUser = factory.CreateCounter(
            "attach_gpu_seconds_one_gpu_per_user_total",
            "GPU-seconds one GPU per user would have taken: each user seen since the broker started, from when they were first seen.");
        GpuSecondsSaved = factory.CreateGauge(
            "attach_gpu_seconds_saved_total",
            "attach_gpu_seconds_one_gpu_per_user_total minus attach_gpu_seconds_used_total. A gauge: it falls while users hold more than a GPU each.");
    }

    public CollectorRegistry Registry { get; }

    public Histogram AttachLatency { get; }

    public Counter Transitions { get; }

    public Gauge QueueLength { get; }

    public Gauge SlicesAllocated { get; }

    public Gauge GpuMemoryAllocated { get; }

    public Gauge GpuMemoryTotal { get; }

    public Counter GpuSecondsUsed { get; }

    public Counter GpuSecondsOneGpuPerUser { get; }

    public Gauge GpuSecondsSaved { get; }

    public GpuTimeLedger GpuTime { get; } = new();

    /// <summary>Counts one published transition; called under the kernel's lock, so it only adds numbers.</summary>
    public void Record(KernelStateChanged change)
    {
        ArgumentNullException.ThrowIfNull(change);
        Transitions.WithLabels(change.From.ToString(), change.To.ToString()).Inc();
        // A request was served: the kernel waited in the queue, or for the bind or the resume, and now holds a slice.
        if (change.To == KernelState.Attached
            && change.From is KernelState.Queued or KernelState.Attaching or KernelState.Resuming
            && change.Status.Attachment is { } attachment)
        {
            AttachLatency.Observe(Math.Max(0, attachment.WaitSeconds));
        }

        GpuTime.Record(change, _timeProvider.GetUtcNow());
    }
}
