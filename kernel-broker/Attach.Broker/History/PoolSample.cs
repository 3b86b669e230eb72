namespace Attach.Broker.History;

/// <summary>The pool at one moment, as <see cref="PoolSampler"/> saw it.</summary>
/// <param name="At">When.</param>
/// <param name="ElapsedSeconds">Time since the previous sample: the span this sample's usage is counted over (0 for the first).</param>
/// <param name="Gpus">GPUs on live nodes.</param>
/// <param name="MemoryTotalMiB">Their device memory.</param>
/// <param name="MemoryAllocatedMiB">Device memory bound to slices.</param>
/// <param name="Slices">Slices bound.</param>
/// <param name="GpusInUse">The slices as whole GPUs: each slice counts its share of its GPU's memory.</param>
/// <param name="KernelsAttached">Kernels holding a slice.</param>
/// <param name="KernelsQueued">Kernels waiting in the queue.</param>
/// <param name="Users">Users with a kernel the broker knows: the GPUs a one-GPU-per-user pool would have handed out.</param>
/// <param name="Attaches">Slices first seen in this sample.</param>
/// <param name="MaxWaitSeconds">The longest wait of those attaches, when there were any.</param>
/// <param name="PerUser">Each user's slices, GPU share and queued kernels; only ever shown to that user.</param>
internal sealed record PoolSample(
    DateTimeOffset At,
    double ElapsedSeconds,
    int Gpus,
    long MemoryTotalMiB,
    long MemoryAllocatedMiB,
    int Slices,
    double GpusInUse,
    int KernelsAttached,
    int KernelsQueued,
    int Users,
    int Attaches,
    double? MaxWaitSeconds,
    IReadOnlyDictionary<string, UserSample> PerUser);

/// <summary>One user's part of a <see cref="PoolSample"/>.</summary>
internal sealed record UserSample(int Slices, double GpusInUse);
