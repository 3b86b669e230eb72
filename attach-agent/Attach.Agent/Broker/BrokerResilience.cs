using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Telemetry;

namespace Attach.Agent.Broker;

/// <summary>
/// The resilience pipeline of calls to the broker, in Polly's recommended order: a total timeout around a few
/// jittered retries, then a circuit breaker, each attempt with its own timeout. A heartbeat that still fails is simply
/// sent again at the next interval, so the pipeline stays short. While the broker is down the breaker opens and calls
/// (heartbeats, the shim's lease requests) fail at once instead of each waiting for its timeouts; the agent keeps its
/// bindings either way, and the first call after <see cref="BreakDuration"/> probes whether the broker is back.
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

    /// <summary>Share of failed attempts in <see cref="BreakerSamplingDuration"/> that opens the circuit.</summary>
    public const double BreakerFailureRatio = 0.5;

    /// <summary>
    /// Attempts needed in <see cref="BreakerSamplingDuration"/> before the ratio counts: two failed heartbeats (three
    /// attempts each), not one slow answer, open the circuit. Polly's default (100) would never be reached by heartbeats.
    /// </summary>
    public const int BreakerMinimumThroughput = 6;

    /// <summary>The window the breaker counts attempts in.</summary>
    public static readonly TimeSpan BreakerSamplingDuration = TimeSpan.FromSeconds(30);

    /// <summary>How long the circuit stays open; about one heartbeat interval, so a broker that is back is noticed quickly.</summary>
    public static readonly TimeSpan BreakDuration = TimeSpan.FromSeconds(5);

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, ResilienceHandlerContext context)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(context);

        // BrokerHeartbeatService logs an outage once and its end once; Polly's per-attempt warnings (with stack
        // traces) would repeat it every few seconds for as long as the broker is down. Keep them at Debug.
        var telemetry = context.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        pipeline.ConfigureTelemetry(new TelemetryOptions(telemetry) { SeverityProvider = static _ => ResilienceEventSeverity.Debug });

        AddStrategies(pipeline);
    }

    /// <summary>The strategies, outermost first (separate from <see cref="Configure"/> so tests can run them on a fake clock).</summary>
    internal static ResiliencePipelineBuilder<HttpResponseMessage> AddStrategies(ResiliencePipelineBuilder<HttpResponseMessage> pipeline) =>
        pipeline
            .AddTimeout(TotalTimeout)
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = MaxRetryAttempts,
                Delay = RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
            {
                FailureRatio = BreakerFailureRatio,
                MinimumThroughput = BreakerMinimumThroughput,
                SamplingDuration = BreakerSamplingDuration,
                BreakDuration = BreakDuration,
            })
            .AddTimeout(AttemptTimeout);
}
