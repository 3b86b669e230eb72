using System.Threading.Channels;
using Attach.Contracts.Kernels;
using Attach.Gateway.Channels;

namespace Attach.Gateway.Tests.Channels;

/// <summary>
/// A broker the test scripts line by line, as the real one streams: each <see cref="Progress"/> is passed to the
/// relay's callback, <see cref="Decide"/> ends the call. Calls are numbered in the order the relay makes them.
/// </summary>
internal sealed class ScriptedExecutionBroker : IExecutionBroker
{
    private readonly Channel<ExecutionUpdate> _updates = Channel.CreateUnbounded<ExecutionUpdate>();
    private readonly Channel<(ExecutionRequest Request, CancellationToken Token)> _calls = Channel.CreateUnbounded<(ExecutionRequest, CancellationToken)>();
    private int _callCount;

    public int CallCount => Volatile.Read(ref _callCount);

    /// <summary>The next call the relay makes: its request and its cancellation token.</summary>
    public ValueTask<(ExecutionRequest Request, CancellationToken Token)> NextCallAsync(CancellationToken cancellationToken) =>
        _calls.Reader.ReadAsync(cancellationToken);

    public void Progress(ExecutionProgress progress) => _updates.Writer.TryWrite(new ExecutionUpdate(progress, null));

    public void Decide(ExecutionDecision decision) => _updates.Writer.TryWrite(new ExecutionUpdate(null, decision));

    public async Task<ExecutionDecision> ExecuteAsync(string kernelId, string user, ExecutionRequest request, Func<ExecutionProgress, CancellationToken, ValueTask> onProgress, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _callCount);
        _calls.Writer.TryWrite((request, cancellationToken));
        await foreach (var update in _updates.Reader.ReadAllAsync(cancellationToken))
        {
            if (update.Decision is { } decision)
            {
                return decision;
            }

            await onProgress(update.Progress!, cancellationToken);
        }

        throw new InvalidOperationException("the script ended without a decision");
    }

    public static ExecutionDecision Attached(double waitSeconds = 41.5) =>
        new(true, "import torch", new AttachmentInfo("lease-1", "node-1", 0, "GPU-0", "Simulated GPU", true, 8192, 81920, waitSeconds), true, null);
}
