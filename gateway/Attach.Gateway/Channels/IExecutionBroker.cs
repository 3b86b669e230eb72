using Attach.Contracts.Kernels;

namespace Attach.Gateway.Channels;

/// <summary>The one broker call the kernel channel needs: may this cell run, and on which GPU.</summary>
internal interface IExecutionBroker
{
    /// <summary>Asks about one cell; when it needs a GPU, completes once the slice is bound (or refused).</summary>
    Task<ExecutionDecision> ExecuteAsync(string kernelId, string user, ExecutionRequest request, CancellationToken cancellationToken);
}
