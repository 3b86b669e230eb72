using System.Net;
using Attach.Agent.Gpu;
using Attach.Agent.Slices;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Attach.Agent.Broker;

/// <summary>
/// Registers the node with the broker and renews it every <see cref="AgentOptions.HeartbeatInterval"/>, sending
/// the GPUs, their latest readings and the whole ledger (the broker renews leases and reconciles from it). The first heartbeat goes out
/// at start. An unreachable broker is logged once per outage and never stops the agent: bindings stay in place, and
/// the first heartbeat that gets through carries the whole ledger, so the broker reconciles everything at once.
/// </summary>
internal sealed class BrokerHeartbeatService(
    BrokerClient broker,
    IGpuInventory inventory,
    SliceLedger ledger,
    IOptions<AgentOptions> options,
    TimeProvider timeProvider,
    ILogger<BrokerHeartbeatService> logger,
    GpuReadingMonitor? readings = null) : BackgroundService
{
    private bool _registered;
    private DateTimeOffset? _failingSince;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.HeartbeatInterval;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await BeatAsync(stoppingToken);
                await Task.Delay(interval, timeProvider, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    /// <summary>Sends one heartbeat and logs a change of the broker's reachability.</summary>
    internal async Task BeatAsync(CancellationToken cancellationToken)
    {
        var agent = options.Value;
        // The broker resolves "api/v1/bindings" against the agent URL: a trailing slash keeps a path base.
        // The latest GPU readings go along: the broker keeps slices on a GPU that works from being released as idle.
        var latest = readings?.Latest.Gpus ?? [];
        var heartbeat = new NodeHeartbeat(
            agent.NodeId, BaseUrl.WithTrailingSlash(agent.AdvertisedUrl), inventory.Backend, inventory.Gpus, ledger.Snapshot(), MigLayouts(latest),
            latest.Count > 0 ? latest : null);
        try
        {
            await broker.SendHeartbeatAsync(heartbeat, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception exception)
        {
            // Whatever goes wrong talking to the broker must not stop the agent; the next beat tries again.
            OnFailure(agent, exception);
            return;
        }

        OnSuccess(agent, heartbeat);
    }

    /// <summary>The MIG layout of every GPU the last reading found in MIG mode with instances; null when none is.</summary>
    internal static IReadOnlyList<GpuMigLayout>? MigLayouts(IReadOnlyList<GpuReading> readings)
    {
        List<GpuMigLayout>? layouts = null;
        foreach (var reading in readings)
        {
            if (reading.Mig is { Enabled: true, Instances.Count: > 0 } mig)
            {
                (layouts ??= []).Add(new GpuMigLayout(reading.Index, mig.Instances));
            }
        }

        return layouts;
    }

    private void OnSuccess(AgentOptions agent, NodeHeartbeat heartbeat)
    {
        if (!_registered)
        {
            _registered = true;
            logger.RegisteredWithBroker(agent.BrokerUrl, agent.NodeId, heartbeat.AgentUrl, heartbeat.Gpus.Count, heartbeat.Bindings.Count);
        }
        else if (_failingSince is { } since)
        {
            var outage = timeProvider.GetUtcNow() - since;
            logger.BrokerReachableAgain(agent.BrokerUrl, outage);
        }

        _failingSince = null;
    }

    private void OnFailure(AgentOptions agent, Exception exception)
    {
        var failure = Describe(exception);
        if (_failingSince is not null)
        {
            logger.BrokerStillUnreachable(agent.BrokerUrl, failure);
            return;
        }

        _failingSince = timeProvider.GetUtcNow();
        logger.BrokerUnreachable(agent.BrokerUrl, failure, HintFor(exception), agent.HeartbeatInterval);
    }

    private static string Describe(Exception exception) => exception switch
    {
        TimeoutRejectedException timeout => $"no answer within {timeout.Timeout}",
        BrokenCircuitException => "calls to the broker are paused for a few seconds after repeated failures (circuit open)",
        OperationCanceledException => "the request timed out",
        _ when exception.InnerException is { Message.Length: > 0 } inner && !exception.Message.Contains(inner.Message, StringComparison.Ordinal) =>
            $"{exception.Message} ({inner.Message})",
        _ => exception.Message,
    };

    private static string HintFor(Exception exception) => exception switch
    {
        HttpRequestException { StatusCode: HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden } =>
            "Check that Attach:InternalKey is the same on this agent and on the broker.",
        HttpRequestException { StatusCode: HttpStatusCode.NotFound } =>
            "Check that Agent:BrokerUrl points at the broker itself (the agent appends /api/v1/nodes/{nodeId}/heartbeat).",
        HttpRequestException { StatusCode: not null } =>
            "The broker is up but failing; check the broker's log.",
        _ => "Check that the broker is running and that Agent:BrokerUrl is reachable from this node (address, port, firewall).",
    };
}
