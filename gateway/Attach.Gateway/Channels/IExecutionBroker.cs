using Attach.Contracts.Kernels;

namespace Attach.Gateway.Channels;

/// <summary>The one broker call the kernel channel needs: may this cell run, and on which GPU.</summary>
internal interface IExecutionBroker
{
    /// <summary>
    /// Asks about one cell; when it needs a GPU, completes once the slice is bound (or refused). While the cell
    /// waits (queued, attaching, resuming) each report the broker sends is passed to <paramref name="onProgress"/>,
    /// in order, before the decision. Cancelling the token abandons the request at the broker too.
    /// </summary>
    Task<ExecutionDecision> ExecuteAsync(
        string kernelId,
        string user,
        ExecutionRequest request,
        Func<ExecutionProgress, CancellationToken, ValueTask> onProgress,
        CancellationToken cancellationToken);

    /// <summary>
    /// True when the cell may go to the kernel without waiting for <see cref="ExecuteAsync"/>: it shows no GPU
    /// evidence at all by the broker's own rules, and the broker has been told of it in the background.
    /// </summary>
    bool TryForwardAtOnce(string kernelId, string user, ExecutionRequest request) => false;
}
