using Attach.Broker.Pool;

namespace Attach.Broker.Tests.Fakes;

/// <summary>A bind or unbind the test decides the outcome of.</summary>
internal sealed class HeldCall(string subject, int number, SliceRequest request)
{
    /// <summary>The kernel id (bind) or lease id (unbind).</summary>
    public string Subject { get; } = subject;

    public int Number { get; } = number;

    public SliceRequest Request { get; } = request;

    /// <summary>The bind's queue observer (the kernel), to report queue moves as the lease table would.</summary>
    public IQueueObserver? Observer { get; init; }

    /// <summary>The bind's cancellation (the kernel leaving the queue).</summary>
    public CancellationToken Cancellation { get; init; }

    internal TaskCompletionSource Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Complete() => Result.TrySetResult();

    public void Fail(string reason) => Result.TrySetException(new AttachFailedException(reason));
}
