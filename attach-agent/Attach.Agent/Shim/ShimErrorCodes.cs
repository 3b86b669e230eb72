namespace Attach.Agent.Shim;

/// <summary>The <c>code</c> of an <see cref="ShimMessageType.Error"/> message; stable, for programs to act on.</summary>
internal static class ShimErrorCodes
{
    // Fatal: the agent closes the connection after the error.

    /// <summary>The length field is over <see cref="ShimFrame.MaxBodyLength"/>.</summary>
    public const string TooLarge = "too_large";

    /// <summary>The connection ended in the middle of a frame.</summary>
    public const string Truncated = "truncated";

    /// <summary>A frame did not arrive in time (or a reply was not read in time), or no hello came in time.</summary>
    public const string Timeout = "timeout";

    /// <summary>The type byte is not one the protocol defines.</summary>
    public const string UnknownType = "unknown_type";

    /// <summary>The body is not a list of <c>key=value\0</c> fields, or a field's value is wrong.</summary>
    public const string BadBody = "bad_body";

    /// <summary>The first message was not a hello.</summary>
    public const string HelloRequired = "hello_required";

    /// <summary>The hello's version is not one the agent speaks.</summary>
    public const string UnsupportedVersion = "unsupported_version";

    /// <summary>The hello's session token is missing or malformed.</summary>
    public const string BadSession = "bad_session";

    /// <summary>A known message that is not allowed now (a second hello, a request while one is pending, an agent message).</summary>
    public const string UnexpectedMessage = "unexpected_message";

    /// <summary>The agent serves as many connections as it may.</summary>
    public const string Busy = "busy";

    /// <summary>The agent is stopping.</summary>
    public const string ShuttingDown = "shutting_down";

    /// <summary>The agent failed; its log says why.</summary>
    public const string Internal = "internal";

    // Not fatal: the lease was not granted; the connection stays open for another request.

    /// <summary>The broker refused the lease (unknown session, quota, …); the message says why.</summary>
    public const string Refused = "refused";

    /// <summary><c>wait=0</c> and no slice is free now.</summary>
    public const string NoCapacity = "no_capacity";

    /// <summary>The broker could not be reached.</summary>
    public const string BrokerUnreachable = "broker_unreachable";

    /// <summary>The broker placed the session's lease on another node; a process can only use this node's GPUs.</summary>
    public const string WrongNode = "wrong_node";

    /// <summary>The broker granted a lease this node has no binding for.</summary>
    public const string NotBound = "not_bound";
}
