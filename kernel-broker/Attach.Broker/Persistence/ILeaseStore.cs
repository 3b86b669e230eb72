using Attach.Broker.Pool;
using Attach.Contracts.Kernels;

namespace Attach.Broker.Persistence;

/// <summary>
/// Where the broker keeps its leases, its epoch counter and who owns each kernel, so a restart loses none of them.
/// Writes are synchronous and durable when they return: <see cref="LeaseTable"/> and <see cref="Kernels.KernelRegistry"/>
/// call them under their own locks, before a change becomes visible. SQLite and PostgreSQL implement it once, in
/// <see cref="SqlLeaseStore"/>, over the same schema (<see cref="StoreMigrations"/>); a new SQL backend adds a
/// <see cref="SqlDialect"/>, not new queries.
/// </summary>
internal partial interface ILeaseStore
{
    /// <summary>Says what the store is, for logs: "SQLite /var/lib/attach/broker.db", "memory".</summary>
    string Description { get; }

    /// <summary>Everything stored, read once at startup.</summary>
    StoredBrokerState Load();

    /// <summary>Adds a lease (or replaces one with the same id) and raises the epoch counter to its epoch.</summary>
    void AddLease(Lease lease);

    void SetLeaseStatus(string leaseId, LeaseStatus status);

    void RemoveLease(string leaseId);

    /// <summary>Records who owns a kernel; called once, when the broker first sees it.</summary>
    void AddKernel(string kernelId, string owner);

    /// <summary>Removes a kernel, and the slice preference stored with it.</summary>
    void RemoveKernel(string kernelId);

    /// <summary>
    /// Records the slice a kernel's next attach asks for (null: the default), so a restarted broker, or the broker that
    /// takes over from it, keeps the owner's choice. The kernel must have been added (<see cref="AddKernel"/>).
    /// </summary>
    void SetSlicePreference(string kernelId, SlicePreference? preference);
}
