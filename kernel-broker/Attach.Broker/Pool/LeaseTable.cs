using Attach.Broker.Persistence;
using Attach.Contracts.Pool;

namespace Attach.Broker.Pool;

/// <summary>
/// Every lease the broker has handed out. Placement and reservation happen under one lock, so two
/// kernels can never be given the same capacity; capacity is freed only when the agent confirms. Every change is
/// written to the <see cref="ILeaseStore"/> before it is visible, inside the lock, so a broker killed at any point
/// restarts with every lease it had handed out and an epoch counter that never goes back.
/// </summary>
internal sealed class LeaseTable
{
    /// <summary>
    /// How long a removed lease is remembered. A heartbeat built before an unbind can arrive after it; a binding it
    /// reports that the broker itself removed is unbound again, not adopted as if the broker had lost it.
    /// </summary>
    public static readonly TimeSpan RemovedLeaseMemory = TimeSpan.FromMinutes(5);

    /// <summary>The owner of an adopted binding that does not say whose it is (an agent older than the owner field).</summary>
    public const string UnknownOwner = "unknown";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Lease> _leases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _removed = new(StringComparer.Ordinal);
    private readonly NodeRegistry _nodes;
    private readonly TimeProvider _timeProvider;
    private readonly ILeaseStore _store;
    private long _epoch;

    /// <summary>
    /// Loads what <paramref name="store"/> holds (nothing without one). A lease still <see cref="LeaseStatus.Binding"/>
    /// had its bind in flight when the broker stopped, and nobody is left to finish it: it becomes
    /// <see cref="LeaseStatus.Releasing"/>, keeping its capacity until the agent's next heartbeat says whether it
    /// holds the slice (then it is unbound) or not (then it is freed).
    /// </summary>
    public LeaseTable(NodeRegistry nodes, TimeProvider timeProvider, ILeaseStore? store = null)
    {
        _nodes = nodes;
        _timeProvider = timeProvider;
        _store = store ?? new InMemoryLeaseStore();
        var stored = _store.Load();
        _epoch = stored.Epoch;
        foreach (var lease in stored.Leases)
        {
            if (lease.Status == LeaseStatus.Binding)
            {
                _store.SetLeaseStatus(lease.LeaseId, LeaseStatus.Releasing);
                lease.Status = LeaseStatus.Releasing;
            }

            _epoch = Math.Max(_epoch, lease.Epoch);
            _leases[lease.LeaseId] = lease;
        }
    }

    /// <summary>The highest epoch handed out or adopted so far; the next lease gets a higher one.</summary>
    public long LastEpoch
    {
        get
        {
            lock (_lock)
            {
                return _epoch;
            }
        }
    }

    /// <summary>Places a slice and reserves it (status <see cref="LeaseStatus.Binding"/>), or says why it cannot.</summary>
    public ReservationResult Reserve(string kernelId, string owner, SliceRequest request)
    {
        var live = _nodes.Live();
        lock (_lock)
        {
            var placement = SlicePlacer.Place(live, _leases.Values, request);
            if (placement.Failure is { } failure)
            {
                return new ReservationResult(null, failure);
            }

            var lease = new Lease
            {
                LeaseId = $"lease-{Guid.NewGuid():N}",
                Epoch = ++_epoch,
                KernelId = kernelId,
                Owner = owner,
                NodeId = placement.Node!.Heartbeat.NodeId,
                AgentUrl = placement.Node.Heartbeat.AgentUrl,
                Gpu = placement.Gpu!,
                MemoryMiB = request.MemoryMiB,
                ComputePercent = request.ComputePercent,
                Since = _timeProvider.GetUtcNow(),
                Status = LeaseStatus.Binding,
            };
            _store.AddLease(lease);
            _leases.Add(lease.LeaseId, lease);
            return new ReservationResult(lease, null);
        }
    }

    public void SetStatus(string leaseId, LeaseStatus status)
    {
        lock (_lock)
        {
            if (_leases.TryGetValue(leaseId, out var lease) && lease.Status != status)
            {
                _store.SetLeaseStatus(leaseId, status);
                lease.Status = status;
            }
        }
    }

    /// <summary>Frees the capacity; call only once the agent no longer holds the slice (or never did).</summary>
    public void Remove(string leaseId)
    {
        lock (_lock)
        {
            if (_leases.ContainsKey(leaseId))
            {
                _store.RemoveLease(leaseId);
                _leases.Remove(leaseId);
                _removed[leaseId] = _timeProvider.GetUtcNow();
            }
        }
    }

    public IReadOnlyList<Lease> Snapshot()
    {
        lock (_lock)
        {
            return [.. _leases.Values];
        }
    }

    /// <summary>
    /// Compares an agent's ledger with the table. Leases waiting for an unbind that the agent no longer holds are
    /// freed; those it still holds are returned to be unbound again. Bindings the agent holds that the broker does
    /// not know (it restarted without its store) are live: they are adopted as bound, with the owner the agent
    /// recorded, so their capacity stays taken and their kernels can be given them back. A binding of a lease the
    /// broker removed itself a moment ago (a heartbeat sent before the unbind) is not adopted but unbound again.
    /// </summary>
    public ReconcileResult Reconcile(NodeHeartbeat heartbeat)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        var held = heartbeat.Bindings.ToDictionary(b => b.LeaseId, StringComparer.Ordinal);
        var confirmed = new List<Lease>();
        var toUnbind = new List<Lease>();
        var adopted = new List<Lease>();
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            ForgetOldRemovals_NeedsLock(now);
            foreach (var lease in _leases.Values.Where(l => l.NodeId == heartbeat.NodeId && l.Status == LeaseStatus.Releasing).ToList())
            {
                if (held.ContainsKey(lease.LeaseId))
                {
                    toUnbind.Add(lease);
                }
                else
                {
                    _store.RemoveLease(lease.LeaseId);
                    _leases.Remove(lease.LeaseId);
                    _removed[lease.LeaseId] = now;
                    confirmed.Add(lease);
                }
            }

            foreach (var binding in heartbeat.Bindings.Where(b => !_leases.ContainsKey(b.LeaseId)))
            {
                var removedHere = _removed.ContainsKey(binding.LeaseId);
                var lease = new Lease
                {
                    LeaseId = binding.LeaseId,
                    Epoch = binding.Epoch,
                    KernelId = binding.KernelId,
                    Owner = string.IsNullOrWhiteSpace(binding.Owner) ? UnknownOwner : binding.Owner,
                    NodeId = heartbeat.NodeId,
                    AgentUrl = heartbeat.AgentUrl,
                    Gpu = binding.Gpu,
                    MemoryMiB = binding.MemoryMiB,
                    ComputePercent = binding.ComputePercent,
                    Since = binding.BoundAt,
                    Status = removedHere ? LeaseStatus.Releasing : LeaseStatus.Bound,
                };
                // Later leases must out-rank every epoch an agent holds, or its fencing would refuse them.
                _store.AddLease(lease);
                _epoch = Math.Max(_epoch, binding.Epoch);
                _leases.Add(lease.LeaseId, lease);
                (removedHere ? toUnbind : adopted).Add(lease);
            }
        }

        return new ReconcileResult(confirmed, toUnbind, adopted);
    }

    private void ForgetOldRemovals_NeedsLock(DateTimeOffset now)
    {
        foreach (var leaseId in _removed.Where(r => now - r.Value > RemovedLeaseMemory).Select(r => r.Key).ToList())
        {
            _removed.Remove(leaseId);
        }
    }
}

/// <summary>A reserved lease, or why none could be reserved.</summary>
internal sealed record ReservationResult(Lease? Lease, string? Failure);

/// <summary>What reconciliation found: releases now confirmed, leases to unbind (again), and live bindings adopted as bound.</summary>
internal sealed record ReconcileResult(IReadOnlyList<Lease> ConfirmedReleases, IReadOnlyList<Lease> ToUnbind, IReadOnlyList<Lease> Adopted);
