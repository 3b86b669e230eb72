using Polly;
using Polly.Timeout;

namespace Attach.Agent.Suspend;

/// <summary>
/// The resilience pipeline around each <c>cuda-checkpoint</c> run: one timeout, chosen per action (a lock waits
/// for the process's submitted work, a checkpoint or restore moves gigabytes, a state query should be quick).
/// There is deliberately no retry: every action changes the process's state, a repeat after an unknown outcome
/// would be refused as a wrong state anyway, and whether to try again is the broker's decision.
/// </summary>
internal static class CudaCheckpointResilience
{
    /// <summary>The pipeline's name (it appears in Polly's telemetry).</summary>
    public const string PipelineName = "attach-cuda-checkpoint";

    /// <summary>The timeout for one run, set on the <see cref="ResilienceContext"/> by the caller.</summary>
    public static readonly ResiliencePropertyKey<TimeSpan> RunTimeout = new("attach-cuda-checkpoint.run-timeout");

    /// <summary>Builds the pipeline; a run without <see cref="RunTimeout"/> gets <paramref name="defaultTimeout"/>.</summary>
    public static ResiliencePipeline Build(TimeProvider timeProvider, TimeSpan defaultTimeout) =>
        new ResiliencePipelineBuilder { Name = PipelineName, TimeProvider = timeProvider }
            .AddTimeout(new TimeoutStrategyOptions
            {
                TimeoutGenerator = arguments => ValueTask.FromResult(arguments.Context.Properties.GetValue(RunTimeout, defaultTimeout)),
            })
            .Build();
}
