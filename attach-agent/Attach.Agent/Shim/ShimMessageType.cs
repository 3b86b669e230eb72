namespace Attach.Agent.Shim;

/// <summary>
/// The type byte of a shim frame (see docs/shim-protocol.md). Client messages are below <c>0x80</c>, the agent's
/// have the high bit set, so either side can tell a message sent the wrong way.
/// </summary>
internal enum ShimMessageType
{
    /// <summary>Client, first message: <c>version</c>, <c>session</c>.</summary>
    Hello = 0x01,

    /// <summary>Client: <c>memory_mib</c> (optional), <c>wait</c> (optional, default 1).</summary>
    RequestLease = 0x02,

    /// <summary>Client: gives the lease back (or abandons the pending request); answered by <see cref="Released"/>.</summary>
    Release = 0x03,

    /// <summary>Client: the last message; the agent releases what the connection holds and closes it.</summary>
    Bye = 0x04,

    /// <summary>Agent: <c>code</c>, <c>message</c>, <c>fatal</c> (1: the agent closes the connection next).</summary>
    Error = 0x80,

    /// <summary>Agent, answer to <see cref="Hello"/>: <c>version</c>, <c>node</c>, <c>pid</c>, <c>max_body</c>.</summary>
    Welcome = 0x81,

    /// <summary>Agent, zero or more times while a request waits: <c>position</c>, <c>eta_seconds</c> (when known).</summary>
    Queued = 0x82,

    /// <summary>Agent: <c>lease_id</c>, the GPU, the slice, and <c>env.NAME=value</c> for every variable to set.</summary>
    Granted = 0x83,

    /// <summary>Agent, answer to <see cref="Release"/>: <c>lease_id</c> when one was held.</summary>
    Released = 0x84,

    /// <summary>Agent, unasked: the lease was taken away (<c>lease_id</c>, <c>reason</c>); the connection stays open.</summary>
    Revoke = 0x85,
}
