namespace Attach.Broker.Pool;

/// <summary>An agent refused or failed a bind/unbind; the message says why in words a user can act on.</summary>
internal sealed class AgentCallException : Exception
{
    public AgentCallException(string message) : base(message)
    {
    }

    public AgentCallException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public AgentCallException()
    {
    }

    /// <summary>True when the agent answered that it does not hold the lease (an unbind already done).</summary>
    public bool NotFound { get; init; }

    /// <summary>The HTTP status the agent answered with; null when it did not answer.</summary>
    public int? StatusCode { get; init; }

    /// <summary>The title of the agent's problem document (it names the kind of refusal), when it sent one.</summary>
    public string? Title { get; init; }
}
