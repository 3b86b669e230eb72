using Attach.Contracts.Kernels;

namespace Attach.Agent.Shim;

/// <summary>A shim process asks for a lease.</summary>
/// <param name="Session">The session token from the hello (<c>ATTACH_SESSION</c> or the kernel id).</param>
/// <param name="Peer">The process, from <c>SO_PEERCRED</c>.</param>
/// <param name="MemoryMiB">Device memory asked for; null for the broker's default.</param>
/// <param name="Wait">True to queue when nothing is free.</param>
/// <param name="Priority">The queue to wait in (the request's <c>priority</c> field); interactive when absent.</param>
internal sealed record ShimLeaseRequest(string Session, PeerCredentials Peer, long? MemoryMiB, bool Wait, AttachPriority Priority = AttachPriority.Interactive);
