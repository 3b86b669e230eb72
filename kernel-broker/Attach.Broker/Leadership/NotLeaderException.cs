namespace Attach.Broker.Leadership;

/// <summary>A write was refused because this broker does not lead: nothing was changed.</summary>
internal sealed class NotLeaderException : InvalidOperationException
{
    public NotLeaderException()
    {
    }

    public NotLeaderException(string message)
        : base(message)
    {
    }

    public NotLeaderException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
