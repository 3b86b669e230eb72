using Attach.Contracts.Pool;

namespace Attach.Agent.Slices;

/// <summary>What the ledger keeps on disk: the bindings, and the last epoch of recently unbound leases (fencing).</summary>
/// <param name="Version">The format; <see cref="CurrentVersion"/> is the only one written and read.</param>
/// <param name="Bindings">Every binding in place.</param>
/// <param name="Retired">Leases unbound recently, each with the epoch it was unbound at; a bind at that epoch or lower is stale.</param>
internal sealed record LedgerDocument(int Version, IReadOnlyList<BindingInfo> Bindings, IReadOnlyList<RetiredLease> Retired)
{
    /// <summary>The format this agent writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>A ledger that has recorded nothing yet.</summary>
    public static LedgerDocument Empty { get; } = new(CurrentVersion, [], []);
}
