using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Contracts.Kernels;
using Attach.ServiceDefaults.Security;
using Microsoft.Extensions.Options;

namespace Attach.Broker.History;

/// <summary>
/// Samples the pool every <see cref="HistoryOptions.SampleInterval"/> (on the broker's <see cref="TimeProvider"/>)
/// into <see cref="PoolHistory"/>: what the dashboard plots, and each user's GPU time today.
/// </summary>
internal sealed class PoolSampler(
    PoolHistory history,
    NodeRegistry nodes,
    LeaseTable leases,
    KernelRegistry kernels,
    TimeProvider timeProvider,
    IOptions<HistoryOptions> options,
    ILogger<PoolSampler> logger) : BackgroundService
{
    private readonly HashSet<string> _seenLeases = new(StringComparer.Ordinal);
    private DateTimeOffset? _last;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SampleInterval, timeProvider);
        do
        {
            try
            {
                SampleOnce();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.PoolSampleFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Takes one sample now and adds it to the history.</summary>
    internal PoolSample SampleOnce()
    {
        var now = timeProvider.GetUtcNow();
        var elapsed = _last is { } last ? Math.Max(0, (now - last).TotalSeconds) : 0;
        _last = now;

        var gpus = nodes.Live().SelectMany(n => n.Heartbeat.Gpus).ToList();
        var held = leases.Snapshot();
        var known = kernels.List(AttachClaims.ServiceUser).Select(k => k.Status).ToList();

        double Share(Lease l) => l.Gpu.MemoryTotalMiB > 0 ? (double)l.MemoryMiB / l.Gpu.MemoryTotalMiB : 0;
        var perUser = held
            .GroupBy(l => l.Owner, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => new UserSample(g.Count(), g.Sum(Share)), StringComparer.Ordinal);

        var attachments = known.Where(k => k.Attachment is not null).Select(k => k.Attachment!).ToList();
        var fresh = attachments.Where(a => !_seenLeases.Contains(a.LeaseId)).ToList();
        _seenLeases.Clear();
        _seenLeases.UnionWith(attachments.Select(a => a.LeaseId));

        var sample = new PoolSample(
            now,
            elapsed,
            gpus.Count,
            gpus.Sum(g => g.MemoryTotalMiB),
            held.Sum(l => l.MemoryMiB),
            held.Count,
            held.Sum(Share),
            known.Count(k => k.State == KernelState.Attached),
            known.Count(k => k.State == KernelState.Queued),
            known.Select(k => k.Owner).Distinct(StringComparer.Ordinal).Count(),
            fresh.Count,
            fresh.Count > 0 ? fresh.Max(a => a.WaitSeconds) : null,
            perUser);
        history.Add(sample);
        return sample;
    }
}
