using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Telemetry;

namespace Attach.Agent.Broker;

/// <summary>
/// The resilience pipeline of calls to the broker, in Polly's recommended order: a total timeout around a few
/// jittered retries, each attempt with its own timeout. A heartbeat that still fails is simply sent again at the
/// next interval, so the pipeline stays short.
/// </summary>
internal static class BrokerResilience
{
    /// <summary>The pipeline's name (it appears in Polly's telemetry).</summary>
    public const string PipelineName = "attach-broker";

    /// <summary>Longest a call may take, retries included.</summary>
    public static readonly TimeSpan TotalTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Longest one attempt may take.</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Retries after the first attempt.</summary>
    public const int MaxRetryAttempts = 2;

    /// <summary>Median delay before the first retry; it grows exponentially, with jitter.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, ResilienceHandlerContext context)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(context);

        // BrokerHeartbeatService logs an outage once and its end once; Polly's per-attempt warnings (with stack
        // traces) would repeat it every few seconds for as long as the broker is down. Keep them at Debug.
        var telemetry = context.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        pipeline.ConfigureTelemetry(new TelemetryOptions(telemetry) { SeverityProvider = static _ => ResilienceEventSeverity.Debug });

        pipeline
            .AddTimeout(TotalTimeout)
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = MaxRetryAttempts,
                Delay = RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .AddTimeout(AttemptTimeout);
    }
}
