namespace Attach.Contracts.Pool;

/// <summary>The broker asks an agent to suspend the process bound to a lease (the body is optional).</summary>
/// <param name="Pid">
/// The process to suspend, when the agent does not know it yet (until the shim reports processes, the broker
/// passes it on).
/// </param>
public sealed record SuspendRequest(int? Pid = null);
