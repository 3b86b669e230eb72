namespace Attach.Agent.Slices;

/// <summary>A lease the ledger unbound, and the epoch it was unbound at.</summary>
/// <param name="LeaseId">The broker's lease id.</param>
/// <param name="Epoch">The highest epoch seen for the lease; a later bind at this epoch or lower comes from a superseded holder.</param>
internal sealed record RetiredLease(string LeaseId, long Epoch);
