namespace Attach.Agent.Shim;

/// <summary>A lease given back because its last holder released it or went away.</summary>
/// <param name="Session">The session the lease belongs to.</param>
/// <param name="LeaseId">The lease.</param>
/// <param name="Peer">The process whose release or exit ended it.</param>
/// <param name="Reason">Why, for logs and the UI.</param>
internal sealed record ShimLeaseRelease(string Session, string LeaseId, PeerCredentials Peer, string Reason);
