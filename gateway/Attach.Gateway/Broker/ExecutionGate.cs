using Attach.Contracts.Kernels;

namespace Attach.Gateway.Broker;

/// <summary>
/// The relay's broker: a cell that the broker's own rules show has no GPU evidence at all goes to the kernel at once,
/// and the broker is told of it in the background (<see cref="ActivityReporter"/>); every other cell is asked about
/// and waits for the broker's decision, as before. The process shim's runtime signal still attaches a cell that
/// reaches CUDA either way.
/// </summary>
internal sealed class ExecutionGate(BrokerClient broker, ExecutionRulesSource rules, ActivityReporter reports) : Channels.IExecutionBroker
{
    public Task<ExecutionDecision> ExecuteAsync(
        string kernelId,
        string user,
        ExecutionRequest request,
        Func<ExecutionProgress, CancellationToken, ValueTask> onProgress,
        CancellationToken cancellationToken) =>
        broker.ExecuteAsync(kernelId, user, request, onProgress, cancellationToken);

    public bool TryForwardAtOnce(string kernelId, string user, ExecutionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (rules.Current is not { } current || !current.ShowsNoEvidence(request.Code))
        {
            return false;
        }

        reports.EnqueueForwarded(new ForwardedExecution(kernelId, user, request));
        return true;
    }
}
