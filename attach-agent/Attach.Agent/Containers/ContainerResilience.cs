using System.Net;
using System.Net.Sockets;
using Docker.DotNet;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Attach.Agent.Containers;

/// <summary>
/// The resilience pipeline around every Docker call, in Polly's recommended order: a total timeout around a few
/// jittered retries, a circuit breaker, and a timeout for each attempt. Only failures that a repeat can cure are
/// retried (the engine unreachable, a gateway error, an attempt that timed out); the engine's answers about the
/// request itself (404 no such container or image, 409 conflict, 400) are final. When the engine keeps failing
/// the circuit opens and calls fail at once, which the API reports as "Docker unreachable".
/// </summary>
internal static class ContainerResilience
{
    /// <summary>The pipeline's name (it appears in Polly's telemetry).</summary>
    public const string PipelineName = "attach-docker";

    /// <summary>Longest a call may take, retries included.</summary>
    public static readonly TimeSpan TotalTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Longest one attempt may take; more than the longest stop grace period (<see cref="ContainerOptions.StopTimeout"/>).</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(40);

    /// <summary>Retries after the first attempt.</summary>
    public const int MaxRetryAttempts = 2;

    /// <summary>Median delay before the first retry; it grows exponentially, with jitter.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    /// <summary>How long the circuit stays open once it has opened.</summary>
    public static readonly TimeSpan BreakDuration = TimeSpan.FromSeconds(15);

    public static ResiliencePipeline Build(TimeProvider timeProvider)
    {
        var transient = new PredicateBuilder().Handle<Exception>(IsTransient);
        return new ResiliencePipelineBuilder { Name = PipelineName, TimeProvider = timeProvider }
            .AddTimeout(TotalTimeout)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient,
                MaxRetryAttempts = MaxRetryAttempts,
                Delay = RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = BreakDuration,
            })
            .AddTimeout(AttemptTimeout)
            .Build();
    }

    /// <summary>A failure that a repeat of the same call may cure.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        DockerApiException api => api.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout,
        HttpRequestException or SocketException or IOException or TimeoutRejectedException => true,
        _ => false,
    };

    /// <summary>The engine is not there for us: transient failures that outlived the retries, or an open circuit.</summary>
    public static bool IsUnavailable(Exception exception) => exception is BrokenCircuitException || IsTransient(exception);
}
