namespace Attach.Broker.Pool;

/// <summary>A bind or unbind could not be done; the message is shown to the user as is.</summary>
internal sealed class AttachFailedException : Exception
{
    public AttachFailedException(string message) : base(message)
    {
    }

    public AttachFailedException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public AttachFailedException()
    {
    }
}
