namespace Attach.Contracts.Kernels;

/// <summary>
/// An agent asks for a lease on behalf of a process that reached <c>cuInit</c> through the shim:
/// <c>POST /api/v1/kernels/{session}/runtime-attach</c>. The agent sends it again while the answer is
/// <see cref="RuntimeAttachStatus.Queued"/>; a repeat for the same session and node keeps the queue place.
/// </summary>
/// <param name="NodeId">The node the process runs on; the slice must be placed there.</param>
/// <param name="Pid">The process id, read by the agent from the socket (SO_PEERCRED), never from the process.</param>
/// <param name="Uid">The process's user id, from SO_PEERCRED.</param>
/// <param name="Gid">The process's group id, from SO_PEERCRED.</param>
/// <param name="MemoryMiB">Device memory the process asked for; null for the broker's default slice.</param>
/// <param name="Wait">True to queue when nothing is free; false to be refused at once instead.</param>
/// <param name="Priority">The queue it waits in (<c>ATTACH_PRIORITY</c>, set by <c>attach run --batch</c>); absent: interactive.</param>
public sealed record RuntimeAttachRequest(string NodeId, int Pid, long Uid, long Gid, long? MemoryMiB, bool Wait, AttachPriority Priority = AttachPriority.Interactive);
