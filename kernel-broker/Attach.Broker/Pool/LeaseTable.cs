using Attach.Contracts.Pool;

namespace Attach.Broker.Pool;

/// <summary>
/// Every lease the broker has handed out. Placement and reservation happen under one lock, so two
/// kernels can never be given the same capacity; capacity is freed only when the agent confirms.
/// </summary>
internal sealed class LeaseTable(NodeRegistry nodes, TimeProvider timeProvider)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Lease> _leases = new(StringComparer.Ordinal);
    private long _epoch;

    /// <summary>Places a slice and reserves it (status <see cref="LeaseStatus.Binding"/>), or says why it cannot.</summary>
    public ReservationResult Reserve(string kernelId, string owner, SliceRequest request)
    {
        var live = nodes.Live();
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
                Since = timeProvider.GetUtcNow(),
                Status = LeaseStatus.Binding,
            };
            _leases.Add(lease.LeaseId, lease);
            return new ReservationResult(lease, null);
        }
    }

    public void SetStatus(string leaseId, LeaseStatus status)
    {
        lock (_lock)
        {
            if (_leases.TryGetValue(leaseId, out var lease))
            {
                lease.Status = status;
            }
        }
    }

    /// <summary>Frees the capacity; call only once the agent no longer holds the slice (or never did).</summary>
    public void Remove(string leaseId)
    {
        lock (_lock)
        {
            _leases.Remove(leaseId);
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
    /// Compares an agent's ledger with the table. Leases waiting for an unbind that the agent no longer
    /// holds are freed. Bindings the agent holds that the broker never handed out (a broker restarted
    /// without its store) are adopted as releasing, so their capacity stays taken until they are unbound,
    /// and returned for the caller to unbind.
    /// </summary>
    public ReconcileResult Reconcile(NodeHeartbeat heartbeat)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        var held = heartbeat.Bindings.ToDictionary(b => b.LeaseId, StringComparer.Ordinal);
        var confirmed = new List<Lease>();
        var toUnbind = new List<Lease>();
        lock (_lock)
        {
            foreach (var lease in _leases.Values.Where(l => l.NodeId == heartbeat.NodeId && l.Status == LeaseStatus.Releasing).ToList())
            {
                if (held.ContainsKey(lease.LeaseId))
                {
                    toUnbind.Add(lease);
                }
                else
                {
                    _leases.Remove(lease.LeaseId);
                    confirmed.Add(lease);
                }
            }

            foreach (var binding in heartbeat.Bindings.Where(b => !_leases.ContainsKey(b.LeaseId)))
            {
                var orphan = new Lease
                {
                    LeaseId = binding.LeaseId,
                    Epoch = binding.Epoch,
                    KernelId = binding.KernelId,
                    Owner = "unknown",
                    NodeId = heartbeat.NodeId,
                    AgentUrl = heartbeat.AgentUrl,
                    Gpu = binding.Gpu,
                    MemoryMiB = binding.MemoryMiB,
                    ComputePercent = binding.ComputePercent,
                    Since = binding.BoundAt,
                    Status = LeaseStatus.Releasing,
                };
                _epoch = Math.Max(_epoch, binding.Epoch);
                _leases.Add(orphan.LeaseId, orphan);
                toUnbind.Add(orphan);
            }
        }

        return new ReconcileResult(confirmed, toUnbind);
    }
}

/// <summary>A reserved lease, or why none could be reserved.</summary>
internal sealed record ReservationResult(Lease? Lease, string? Failure);

/// <summary>What reconciliation found: releases now confirmed, and leases to unbind (again).</summary>
internal sealed record ReconcileResult(IReadOnlyList<Lease> ConfirmedReleases, IReadOnlyList<Lease> ToUnbind);
