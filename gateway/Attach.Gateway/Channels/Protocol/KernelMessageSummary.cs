namespace Attach.Gateway.Channels.Protocol;

/// <summary>
/// What the gateway needs to know about one kernel message to route, account for or answer it.
/// Only the small header fields are materialised as strings; content is read only for the two
/// message types whose content the gateway acts on.
/// </summary>
internal sealed class KernelMessageSummary
{
    /// <summary>"shell", "iopub", "stdin" or "control".</summary>
    public required string Channel { get; init; }

    /// <summary>header.msg_type.</summary>
    public required string MsgType { get; init; }

    /// <summary>header.msg_id.</summary>
    public required string MsgId { get; init; }

    /// <summary>header.session, when it is a string.</summary>
    public string? Session { get; init; }

    /// <summary>parent_header.msg_id; null when the message has no parent (an empty parent_header).</summary>
    public string? ParentMsgId { get; init; }

    /// <summary>parent_header.msg_type; null when the message has no parent.</summary>
    public string? ParentMsgType { get; init; }

    /// <summary>content.code, only for msg_type execute_request.</summary>
    public string? Code { get; init; }

    /// <summary>
    /// content.stop_on_error, only for msg_type execute_request: true when absent (the messaging spec's default).
    /// When such a cell fails, the kernel aborts the execute_requests queued behind it.
    /// </summary>
    public bool StopOnError { get; init; } = true;

    /// <summary>content.execution_state, only for msg_type status.</summary>
    public string? ExecutionState { get; init; }

    /// <summary>
    /// The raw bytes of the header object: a slice of the parsed frame, valid only as long as
    /// the frame's buffer is. A caller that keeps it past that (to parent a reply) copies it.
    /// </summary>
    public required ReadOnlyMemory<byte> HeaderJson { get; init; }
}
