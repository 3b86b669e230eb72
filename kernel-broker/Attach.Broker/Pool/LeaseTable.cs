using Attach.Broker.Persistence;
using Attach.Broker.Scheduling;
using Attach.Contracts.Pool;

namespace Attach.Broker.Pool;

/// <summary>
/// Every lease the broker has handed out. Placement is the <see cref="PoolScheduler"/>'s (the one count of capacity:
/// every lease here is an allocation there, with the same id), and it happens under this table's lock together with
/// the reservation, so two kernels can never be given the same capacity; capacity is freed only when the agent
/// confirms. Every change is written to the <see cref="ILeaseStore"/> before it is visible, inside the lock, so a
/// broker killed at any point restarts with every lease it had handed out and an epoch counter that never goes back.
/// A request that does not fit waits in the scheduler's queue with a <see cref="QueueTicket"/>; a slice freed by a
/// release, an unbind the agent confirmed or a node coming back is placed for the waiters at once, here, and handed
/// to their tickets. Ticket callbacks run after the lock is left.
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
    private readonly PoolScheduler _scheduler;
    private readonly Dictionary<string, QueueTicket> _tickets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RegisteredNode> _placedNodes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _deadNodes = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _startedAt;
    private readonly Func<string, int, int, bool> _movedFilter;
    private long _publishedQueueVersion = -1;
    private long _epoch;

    /// <summary>
    /// Loads what <paramref name="store"/> holds (nothing without one). A lease still <see cref="LeaseStatus.Binding"/>
    /// had its bind in flight when the broker stopped, and nobody is left to finish it: it becomes
    /// <see cref="LeaseStatus.Releasing"/>, keeping its capacity until the agent's next heartbeat says whether it
    /// holds the slice (then it is unbound) or not (then it is freed).
    /// </summary>
    public LeaseTable(NodeRegistry nodes, TimeProvider timeProvider, ILeaseStore? store = null, PoolScheduler? scheduler = null)
    {
        _nodes = nodes;
        _timeProvider = timeProvider;
        _store = store ?? new InMemoryLeaseStore();
        _scheduler = scheduler ?? new PoolScheduler(new SchedulerSettings(), timeProvider);
        _startedAt = timeProvider.GetUtcNow();
        _movedFilter = TicketMoved_NeedsLock;
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
            _scheduler.Adopt(AllocationOf(lease));
        }
    }

    /// <summary>The scheduler that places this table's leases (queue positions, usage).</summary>
    public PoolScheduler Scheduler => _scheduler;

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

    /// <summary>
    /// Places a slice and reserves it (status <see cref="LeaseStatus.Binding"/>), or says why it cannot. With
    /// <paramref name="wait"/>, a request that does not fit now is queued instead: the result carries a
    /// <see cref="QueueTicket"/> whose task completes with the lease once the scheduler places it (a kernel already
    /// waiting gets its ticket back, keeping its place). Without, it is refused with the largest hole in the pool.
    /// </summary>
    public ReservationResult Reserve(string kernelId, string owner, SliceRequest request, bool wait = false, IQueueObserver? observer = null)
    {
        var live = _nodes.Live();
        var after = new List<Action>();
        ReservationResult result;
        lock (_lock)
        {
            var placed = new List<SliceAllocation>();
            SyncNodes_NeedsLock(live, placed);
            if (_tickets.TryGetValue(kernelId, out var waiting))
            {
                result = new ReservationResult(null, null, waiting);
            }
            else
            {
                var demand = new SliceDemand(
                    $"lease-{Guid.NewGuid():N}",
                    kernelId,
                    owner,
                    request.Group,
                    request.Priority,
                    request.MemoryMiB,
                    request.ComputePercent,
                    request.GpuFraction,
                    request.NodeId,
                    request.PreferredNodeId,
                    request.PreferredGpuIndex);
                var submitted = _scheduler.Submit(demand, placed);
                switch (submitted.Outcome)
                {
                    case SubmitOutcome.Placed:
                        result = new ReservationResult(Materialize_NeedsLock(submitted.Allocation!), null);
                        break;
                    case SubmitOutcome.Queued when wait:
                        var ticket = new QueueTicket(kernelId, submitted.Reason!, observer);
                        _tickets.Add(kernelId, ticket);
                        result = new ReservationResult(null, null, ticket);
                        break;
                    case SubmitOutcome.Queued:
                        _scheduler.Cancel(kernelId, placed);
                        result = new ReservationResult(null, SlicePlacer.Explain(live, _leases.Values, request));
                        break;
                    default:
                        result = new ReservationResult(null, submitted.Reason);
                        break;
                }
            }

            Served_NeedsLock(placed, after);
        }

        Run(after);
        return result;
    }

    /// <summary>
    /// Takes a kernel's request out of the queue. False when it is not waiting (any more): a slice may have been placed
    /// for it a moment ago, and its ticket then carries the lease.
    /// </summary>
    public bool CancelWait(string kernelId)
    {
        var after = new List<Action>();
        bool cancelled;
        lock (_lock)
        {
            var placed = new List<SliceAllocation>();
            cancelled = _tickets.Remove(kernelId, out var ticket) && _scheduler.Cancel(kernelId, placed);
            if (cancelled)
            {
                after.Add(() => ticket!.Cancel());
            }

            Served_NeedsLock(placed, after);
        }

        Run(after);
        return cancelled;
    }

    /// <summary>When the lease's kernel will release it if it stays idle (null: not idle); feeds the queue's ETAs.</summary>
    public void ExpectRelease(string leaseId, DateTimeOffset? at) => _scheduler.SetExpectedRelease(leaseId, at);

    /// <summary>Where the kernel stands in the queue, when it waits.</summary>
    public WaiterInfo? Standing(string kernelId)
    {
        foreach (var waiter in _scheduler.Waiters())
        {
            if (waiter.KernelId == kernelId)
            {
                return waiter;
            }
        }

        return null;
    }

    /// <summary>Sets the lease's status; false when the lease is gone (released, or reclaimed from a dead node).</summary>
    public bool SetStatus(string leaseId, LeaseStatus status)
    {
        lock (_lock)
        {
            if (!_leases.TryGetValue(leaseId, out var lease))
            {
                return false;
            }

            if (lease.Status != status)
            {
                _store.SetLeaseStatus(leaseId, status);
                lease.Status = status;
            }

            return true;
        }
    }

    /// <summary>
    /// Reclaims every lease on the nodes whose agent has not sent a heartbeat for longer than <paramref name="ttl"/>
    /// (a node the broker holds leases for but has not heard from since it started counts from its start): the leases
    /// are removed from the store and the table, the nodes leave the scheduler (<see cref="PoolScheduler.RemoveNode"/>),
    /// so nothing is placed on them, and waiters are served and told their new positions. Requests that wait for one of
    /// these nodes stay queued. A node comes back with its next heartbeat (<see cref="Reconcile"/>): what its ledger
    /// still holds is adopted again, as after a broker restart. Each dead node is reclaimed once.
    /// </summary>
    public DeadNodeReclaim ReclaimDeadNodes(TimeSpan ttl)
    {
        var now = _timeProvider.GetUtcNow();
        var registered = _nodes.All();
        var live = _nodes.Live();
        var after = new List<Action>();
        var dead = new List<DeadNode>();
        lock (_lock)
        {
            var lastSeen = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            foreach (var node in registered)
            {
                lastSeen[node.Heartbeat.NodeId] = node.LastSeen;
            }

            foreach (var lease in _leases.Values)
            {
                lastSeen.TryAdd(lease.NodeId, _startedAt);
            }

            var placed = new List<SliceAllocation>();
            var dying = lastSeen.Where(n => now - n.Value > ttl && !_deadNodes.Contains(n.Key)).ToList();
            foreach (var (nodeId, _) in dying)
            {
                // Every node this sweep declares dead leaves placement before any is removed: removing one frees capacity
                // for waiters, and none may be placed on another about to go (its lease would outlive its node's removal).
                _deadNodes.Add(nodeId);
                _placedNodes.Remove(nodeId);
                _scheduler.SetNodeOnline(nodeId, online: false);
            }

            // Nodes silent past the stale limit, not yet the TTL, leave placement too, as a reservation would leave them out.
            SyncNodes_NeedsLock(live, placed);
            foreach (var (nodeId, seen) in dying)
            {
                _scheduler.RemoveNode(nodeId, reclaimed: null, placed);
                var leases = new List<Lease>();
                foreach (var lease in _leases.Values)
                {
                    if (lease.NodeId == nodeId)
                    {
                        leases.Add(lease);
                    }
                }

                foreach (var lease in leases)
                {
                    _store.RemoveLease(lease.LeaseId);
                    _leases.Remove(lease.LeaseId);
                }

                dead.Add(new DeadNode(nodeId, seen, now - seen, leases));
            }

            Served_NeedsLock(placed, after);
        }

        Run(after);
        return new DeadNodeReclaim(dead);
    }

    /// <summary>Whether the node was declared dead and has not sent a heartbeat since.</summary>
    public bool IsDead(string nodeId)
    {
        lock (_lock)
        {
            return _deadNodes.Contains(nodeId);
        }
    }

    /// <summary>Frees the capacity; call only once the agent no longer holds the slice (or never did).</summary>
    public void Remove(string leaseId)
    {
        var after = new List<Action>();
        lock (_lock)
        {
            if (_leases.ContainsKey(leaseId))
            {
                _store.RemoveLease(leaseId);
                _leases.Remove(leaseId);
                _removed[leaseId] = _timeProvider.GetUtcNow();
                var placed = new List<SliceAllocation>();
                _scheduler.Release(leaseId, placed);
                Served_NeedsLock(placed, after);
            }
        }

        Run(after);
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
        var live = _nodes.Live();
        var after = new List<Action>();
        var placed = new List<SliceAllocation>();
        lock (_lock)
        {
            ForgetOldRemovals_NeedsLock(now);

            // A node declared dead is back: the scheduler gets it again (below), and its ledger is adopted as after a restart.
            _deadNodes.Remove(heartbeat.NodeId);
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
                    _scheduler.Release(lease.LeaseId, placed);
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
                    MigUuid = binding.MigUuid,
                    Since = binding.BoundAt,
                    Status = removedHere ? LeaseStatus.Releasing : LeaseStatus.Bound,
                };
                // Later leases must out-rank every epoch an agent holds, or its fencing would refuse them.
                _store.AddLease(lease);
                _epoch = Math.Max(_epoch, binding.Epoch);
                _leases.Add(lease.LeaseId, lease);
                _scheduler.Adopt(AllocationOf(lease));
                (removedHere ? toUnbind : adopted).Add(lease);
            }

            // The node's capacity (new, changed or back online) serves waiters now, not at the next request.
            SyncNodes_NeedsLock(live, placed);
            Served_NeedsLock(placed, after);
        }

        Run(after);
        return new ReconcileResult(confirmed, toUnbind, adopted);
    }

    /// <summary>Tells the scheduler about nodes that registered, changed their GPUs, went quiet or came back.</summary>
    private void SyncNodes_NeedsLock(IReadOnlyList<RegisteredNode> live, List<SliceAllocation> placed)
    {
        foreach (var node in live)
        {
            var id = node.Heartbeat.NodeId;
            if (_deadNodes.Contains(id))
            {
                // Declared dead; only its own next heartbeat (Reconcile) brings it back.
                continue;
            }

            var known = _placedNodes.TryGetValue(id, out var previous);
            if (known && ReferenceEquals(previous!.Heartbeat.Gpus, node.Heartbeat.Gpus) && ReferenceEquals(previous.Heartbeat.Mig, node.Heartbeat.Mig))
            {
                _placedNodes[id] = node;
                continue;
            }

            if (!known || !SameGpus(previous!.Heartbeat.Gpus, node.Heartbeat.Gpus) || !SameMig(previous.Heartbeat.Mig, node.Heartbeat.Mig))
            {
                _scheduler.UpsertNode(id, Capacity(node.Heartbeat), placed);
            }

            _placedNodes[id] = node;
        }

        List<string>? gone = null;
        foreach (var id in _placedNodes.Keys)
        {
            if (!ContainsNode(live, id))
            {
                (gone ??= []).Add(id);
            }
        }

        foreach (var id in gone ?? [])
        {
            // Stale: left out of placement, its leases still counted (the agent may hold them); back on its next heartbeat.
            _scheduler.SetNodeOnline(id, online: false);
            _placedNodes.Remove(id);
        }
    }

    private static bool ContainsNode(IReadOnlyList<RegisteredNode> live, string nodeId)
    {
        foreach (var node in live)
        {
            if (node.Heartbeat.NodeId == nodeId)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The node's GPUs as the scheduler counts them: a GPU the agent reports in MIG mode is its MIG instances, each a
    /// fixed slice (an instance whose memory is not reported cannot be sized and is left out).
    /// </summary>
    internal static List<GpuCapacity> Capacity(NodeHeartbeat heartbeat)
    {
        var gpus = new List<GpuCapacity>(heartbeat.Gpus.Count);
        foreach (var gpu in heartbeat.Gpus)
        {
            List<MigSlice>? instances = null;
            foreach (var layout in heartbeat.Mig ?? [])
            {
                if (layout.GpuIndex != gpu.Index)
                {
                    continue;
                }

                foreach (var instance in layout.Instances)
                {
                    if (instance.MemoryTotalMiB is > 0 and { } memory)
                    {
                        (instances ??= []).Add(new MigSlice(instance.Index, memory, instance.Uuid));
                    }
                }
            }

            gpus.Add(new GpuCapacity(gpu.Index, gpu.MemoryTotalMiB, instances));
        }

        return gpus;
    }

    private static bool SameMig(IReadOnlyList<GpuMigLayout>? a, IReadOnlyList<GpuMigLayout>? b)
    {
        a ??= [];
        b ??= [];
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (a[i].GpuIndex != b[i].GpuIndex || a[i].Instances.Count != b[i].Instances.Count)
            {
                return false;
            }

            for (var j = 0; j < a[i].Instances.Count; j++)
            {
                if (a[i].Instances[j].Index != b[i].Instances[j].Index || a[i].Instances[j].MemoryTotalMiB != b[i].Instances[j].MemoryTotalMiB
                    || !string.Equals(a[i].Instances[j].Uuid, b[i].Instances[j].Uuid, StringComparison.Ordinal))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool SameGpus(IReadOnlyList<GpuInfo> a, IReadOnlyList<GpuInfo> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (a[i].Index != b[i].Index || a[i].MemoryTotalMiB != b[i].MemoryTotalMiB)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Turns allocations the scheduler placed for waiters into leases, and queues the news for their tickets and the rest of the queue.</summary>
    private void Served_NeedsLock(List<SliceAllocation> placed, List<Action> after)
    {
        for (var i = 0; i < placed.Count; i++)
        {
            var lease = Materialize_NeedsLock(placed[i]);
            if (_tickets.Remove(lease.KernelId, out var ticket))
            {
                after.Add(() => ticket.Place(lease));
            }
            else
            {
                // Nobody waits for it any more (it cannot happen while tickets and waiters move together): give it back.
                _store.RemoveLease(lease.LeaseId);
                _leases.Remove(lease.LeaseId);
                _scheduler.Release(lease.LeaseId, placed);
            }
        }

        // Positions are recomputed only when the queue changed since they were last published (a heartbeat that
        // changes nothing costs nothing), and only the waiters whose position or queue length moved are told.
        var version = _scheduler.QueueVersion;
        if (_tickets.Count == 0 || version == _publishedQueueVersion)
        {
            return;
        }

        _publishedQueueVersion = version;
        var moved = _scheduler.Waiters(_movedFilter);
        foreach (var waiter in moved)
        {
            var ticket = _tickets[waiter.KernelId];
            after.Add(() => ticket.Report(waiter));
        }
    }

    private bool TicketMoved_NeedsLock(string kernelId, int position, int queueLength) =>
        _tickets.TryGetValue(kernelId, out var ticket) && ticket.Moved(position, queueLength);

    private Lease Materialize_NeedsLock(SliceAllocation allocation)
    {
        var node = _placedNodes[allocation.NodeId];
        GpuInfo? gpu = null;
        foreach (var candidate in node.Heartbeat.Gpus)
        {
            if (candidate.Index == allocation.GpuIndex)
            {
                gpu = candidate;
            }
        }

        var lease = new Lease
        {
            LeaseId = allocation.AllocationId,
            Epoch = ++_epoch,
            KernelId = allocation.KernelId,
            Owner = allocation.User,
            NodeId = allocation.NodeId,
            AgentUrl = node.Heartbeat.AgentUrl,
            Gpu = gpu!,
            MemoryMiB = allocation.MemoryMiB,
            ComputePercent = allocation.ComputePercent,
            MigUuid = allocation.MigUuid,
            Since = allocation.PlacedAt,
            Status = LeaseStatus.Binding,
        };
        _store.AddLease(lease);
        _leases.Add(lease.LeaseId, lease);
        return lease;
    }

    private static SliceAllocation AllocationOf(Lease lease) =>
        new(lease.LeaseId, lease.KernelId, lease.Owner, null, PriorityClass.Interactive, lease.NodeId, lease.Gpu.Index, null,
            lease.MemoryMiB, lease.ComputePercent, lease.Gpu.MemoryTotalMiB, lease.Since, lease.Since, lease.MigUuid);

    private static void Run(List<Action> after)
    {
        foreach (var action in after)
        {
            action();
        }
    }

    private void ForgetOldRemovals_NeedsLock(DateTimeOffset now)
    {
        foreach (var leaseId in _removed.Where(r => now - r.Value > RemovedLeaseMemory).Select(r => r.Key).ToList())
        {
            _removed.Remove(leaseId);
        }
    }
}

/// <summary>A reserved lease, a place in the queue, or why neither.</summary>
internal sealed record ReservationResult(Lease? Lease, string? Failure, QueueTicket? Ticket = null);

/// <summary>The nodes <see cref="LeaseTable.ReclaimDeadNodes"/> declared dead, each with the leases taken back from it.</summary>
internal sealed record DeadNodeReclaim(IReadOnlyList<DeadNode> Nodes);

/// <summary>A node whose agent stopped sending heartbeats: when it was last heard from, for how long not, and its reclaimed leases.</summary>
internal sealed record DeadNode(string NodeId, DateTimeOffset LastSeen, TimeSpan Silent, IReadOnlyList<Lease> Leases);

/// <summary>What reconciliation found: releases now confirmed, leases to unbind (again), and live bindings adopted as bound.</summary>
internal sealed record ReconcileResult(IReadOnlyList<Lease> ConfirmedReleases, IReadOnlyList<Lease> ToUnbind, IReadOnlyList<Lease> Adopted);
