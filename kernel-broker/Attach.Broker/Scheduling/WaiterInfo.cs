namespace Attach.Broker.Scheduling;

/// <summary>One waiting request as <see cref="PoolScheduler.Waiters()"/> reports it.</summary>
/// <param name="KernelId">The waiting kernel.</param>
/// <param name="User">Its owner.</param>
/// <param name="Priority">Its class.</param>
/// <param name="Position">1-based place in the order the queue would serve it (interactive before batch).</param>
/// <param name="QueueLength">How many requests wait in all.</param>
/// <param name="EtaSeconds">Estimated seconds until it is served; null while nothing is held (nothing to wait for).</param>
/// <param name="MemoryMiB">The size asked for (0 for a share of a GPU).</param>
/// <param name="GpuFraction">The share of a GPU asked for, if any.</param>
/// <param name="Since">When it started waiting.</param>
/// <param name="Reason">Why it waits.</param>
internal sealed record WaiterInfo(
    string KernelId,
    string User,
    PriorityClass Priority,
    int Position,
    int QueueLength,
    double? EtaSeconds,
    long MemoryMiB,
    double? GpuFraction,
    DateTimeOffset Since,
    string Reason);
