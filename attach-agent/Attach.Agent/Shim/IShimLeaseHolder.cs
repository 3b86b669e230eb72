namespace Attach.Agent.Shim;

/// <summary>A shim connection as the lease table sees it.</summary>
internal interface IShimLeaseHolder
{
    /// <summary>The process at the other end.</summary>
    PeerCredentials Peer { get; }

    /// <summary>The lease was taken away (it has already left the table); tell the process.</summary>
    ValueTask OnRevokedAsync(string leaseId, string reason);
}
