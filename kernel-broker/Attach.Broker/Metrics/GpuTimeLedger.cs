using Attach.Contracts.Kernels;

namespace Attach.Broker.Metrics;

/// <summary>
/// GPU-seconds actually leased, and what one GPU per user would have cost, from the published transitions.
/// <para>
/// Used: each kernel holds a slice from the first transition that shows its attachment until the first one that
/// shows none (or another lease); it counts for the time held × the slice's share of the GPU's memory
/// (a 20 GiB slice of an 80 GiB GPU held for an hour is 900 GPU-seconds).
/// </para>
/// <para>
/// One GPU per user: every user the broker has seen (in any transition since it started) would have had a whole
/// GPU of their own from that moment on. Saved is the difference; it can go down while users together hold more
/// than one whole GPU each, which is why it is a gauge and not a counter.
/// </para>
/// </summary>
internal sealed class GpuTimeLedger
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Holding> _holdings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _firstSeen = new(StringComparer.Ordinal);
    private double _releasedGpuSeconds;

    /// <summary>Takes one transition, <paramref name="at"/> the time it was published.</summary>
    public void Record(KernelStateChanged change, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(change);
        var attachment = change.Status.Attachment;
        lock (_lock)
        {
            _firstSeen.TryAdd(change.Status.Owner, at);
            if (_holdings.TryGetValue(change.KernelId, out var held) && held.LeaseId != attachment?.LeaseId)
            {
                _releasedGpuSeconds += held.GpuSecondsUntil(at);
                _holdings.Remove(change.KernelId);
            }

            if (attachment is not null && !_holdings.ContainsKey(change.KernelId))
            {
                _holdings[change.KernelId] = new Holding(attachment.LeaseId, ShareOfGpu(attachment), at);
            }
        }
    }

    /// <summary>The totals at <paramref name="now"/>, slices still held counted up to then.</summary>
    public GpuTime Totals(DateTimeOffset now)
    {
        lock (_lock)
        {
            var used = _releasedGpuSeconds + _holdings.Values.Sum(h => h.GpuSecondsUntil(now));
            var oneGpuPerUser = _firstSeen.Values.Sum(first => Math.Max(0, (now - first).TotalSeconds));
            return new GpuTime(used, oneGpuPerUser);
        }
    }

    /// <summary>The slice's share of its GPU, by memory: what it keeps others from using.</summary>
    public static double ShareOfGpu(AttachmentInfo attachment)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        return attachment.GpuMemoryMiB <= 0 ? 1 : Math.Clamp((double)attachment.SliceMemoryMiB / attachment.GpuMemoryMiB, 0, 1);
    }

    private sealed record Holding(string LeaseId, double Share, DateTimeOffset Since)
    {
        public double GpuSecondsUntil(DateTimeOffset end) => Math.Max(0, (end - Since).TotalSeconds) * Share;
    }
}

/// <summary>GPU-seconds leased, and GPU-seconds one GPU per user would have taken over the same time.</summary>
internal readonly record struct GpuTime(double Used, double OneGpuPerUser)
{
    public double Saved => OneGpuPerUser - Used;
}
