using Attach.Agent.Slices;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Gpu;

/// <summary>
/// Reads the GPUs at start and then every <see cref="AgentOptions.HeartbeatInterval"/>, and keeps the latest
/// reading for <c>GET /api/v1/gpus</c>. A failed reading keeps the last good one (its time shows its age) and is
/// logged once per failure streak, like an unreachable broker.
/// </summary>
internal sealed class GpuReadingMonitor(
    IGpuInventory inventory,
    SliceLedger ledger,
    IOptions<AgentOptions> options,
    TimeProvider timeProvider,
    ILogger<GpuReadingMonitor> logger) : BackgroundService
{
    private GpuReadingSnapshot _latest = GpuReadingSnapshot.None;
    private DateTimeOffset? _failingSince;

    /// <summary>The latest reading.</summary>
    public GpuReadingSnapshot Latest => Volatile.Read(ref _latest);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.HeartbeatInterval;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await RefreshAsync(stoppingToken);
                await Task.Delay(interval, timeProvider, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    /// <summary>Takes one reading. Only the monitor's loop calls it while the host runs (tests call it directly).</summary>
    internal async Task RefreshAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<GpuReading> readings;
        try
        {
            readings = await inventory.ReadAsync(ledger.Snapshot(), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception exception)
        {
            // A failed reading must not stop the agent: bindings do not depend on it, and the next one may succeed.
            OnFailure(exception);
            return;
        }

        Volatile.Write(ref _latest, new GpuReadingSnapshot(readings, timeProvider.GetUtcNow(), Error: null));
        if (_failingSince is { } since)
        {
            _failingSince = null;
            var outage = timeProvider.GetUtcNow() - since;
            logger.GpuReadingRecovered(inventory.Backend.Name, outage);
        }
    }

    private void OnFailure(Exception exception)
    {
        Volatile.Write(ref _latest, Latest with { Error = exception.Message });
        if (_failingSince is not null)
        {
            logger.GpuReadingStillFailing(inventory.Backend.Name, exception.Message);
            return;
        }

        _failingSince = timeProvider.GetUtcNow();
        logger.GpuReadingFailed(inventory.Backend.Name, exception.Message, options.Value.HeartbeatInterval);
    }
}
