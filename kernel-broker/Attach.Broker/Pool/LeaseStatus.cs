namespace Attach.Broker.Pool;

/// <summary>Where a lease stands between the broker and the agent that holds it.</summary>
internal enum LeaseStatus
{
    /// <summary>Reserved by the broker; the agent has not confirmed the bind yet.</summary>
    Binding,

    /// <summary>The agent holds the slice.</summary>
    Bound,

    /// <summary>The broker asked the agent to unbind and waits for it to confirm; the capacity stays reserved.</summary>
    Releasing,
}
