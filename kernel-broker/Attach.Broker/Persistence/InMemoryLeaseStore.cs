using Attach.Broker.Pool;
using Attach.Contracts.Kernels;

namespace Attach.Broker.Persistence;

/// <summary>
/// A store that lives as long as the process (<c>Broker:Store:Kind=memory</c>, and unit tests). It keeps copies,
/// so what it returns from <see cref="Load"/> is what was written, not what callers changed since.
/// </summary>
internal sealed partial class InMemoryLeaseStore : ILeaseStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Lease> _leases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StoredKernel> _kernels = new(StringComparer.Ordinal);
    private long _epoch;

    public string Description => "memory (nothing survives a restart)";

    public StoredBrokerState Load()
    {
        lock (_lock)
        {
            return new StoredBrokerState(
                [.. _leases.Values.Select(l => Copy(l, l.Status))],
                _epoch,
                [.. _kernels.Values]);
        }
    }

    public void AddLease(Lease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lock (_lock)
        {
            _leases[lease.LeaseId] = Copy(lease, lease.Status);
            _epoch = Math.Max(_epoch, lease.Epoch);
        }
    }

    public void SetLeaseStatus(string leaseId, LeaseStatus status)
    {
        lock (_lock)
        {
            if (_leases.TryGetValue(leaseId, out var lease))
            {
                _leases[leaseId] = Copy(lease, status);
            }
        }
    }

    public void RemoveLease(string leaseId)
    {
        lock (_lock)
        {
            _leases.Remove(leaseId);
        }
    }

    public void AddKernel(string kernelId, string owner)
    {
        lock (_lock)
        {
            _kernels[kernelId] = _kernels.TryGetValue(kernelId, out var known) ? known with { Owner = owner } : new StoredKernel(kernelId, owner);
        }
    }

    public void RemoveKernel(string kernelId)
    {
        lock (_lock)
        {
            _kernels.Remove(kernelId);
        }
    }

    public void SetSlicePreference(string kernelId, SlicePreference? preference)
    {
        lock (_lock)
        {
            if (!_kernels.TryGetValue(kernelId, out var known))
            {
                throw new InvalidOperationException($"Kernel {kernelId} is not in the store; it must be added before its slice preference is set.");
            }

            _kernels[kernelId] = known with { Preference = preference };
        }
    }

    private static Lease Copy(Lease lease, LeaseStatus status) => new()
    {
        LeaseId = lease.LeaseId,
        Epoch = lease.Epoch,
        KernelId = lease.KernelId,
        Owner = lease.Owner,
        NodeId = lease.NodeId,
        AgentUrl = lease.AgentUrl,
        Gpu = lease.Gpu,
        MemoryMiB = lease.MemoryMiB,
        ComputePercent = lease.ComputePercent,
        MigUuid = lease.MigUuid,
        Since = lease.Since,
        Status = status,
    };
}
