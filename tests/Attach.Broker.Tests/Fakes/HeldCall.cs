using Attach.Broker.Pool;

namespace Attach.Broker.Tests.Fakes;

/// <summary>A bind or unbind the test decides the outcome of.</summary>
internal sealed class HeldCall(string subject, int number, SliceRequest request)
{
    /// <summary>The kernel id (bind) or lease id (unbind).</summary>
    public string Subject { get; } = subject;

    public int Number { get; } = number;

    public SliceRequest Request { get; } = request;

    internal TaskCompletionSource Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Complete() => Result.TrySetResult();

    public void Fail(string reason) => Result.TrySetException(new AttachFailedException(reason));
}
