namespace Attach.Broker.Scheduling;

/// <summary>
/// The pool's capacity, every slice placed on it, and the queue of requests waiting for one: the single place that
/// decides who gets which GPU. Pure and synchronous (no I/O; time only from <see cref="TimeProvider"/>); every public
/// member takes the scheduler's own lock, so it can be called from any thread.
/// </summary>
/// <remarks>
/// <para>How to drive it:</para>
/// <list type="number">
/// <item>Describe the pool: <see cref="UpsertNode"/> per node (again whenever a heartbeat changes it),
/// <see cref="SetNodeOnline"/> when an agent goes quiet or comes back, <see cref="RemoveNode"/> when it is gone for good
/// (its slices are reclaimed). Slices that exist already (a restart, an agent's ledger) are added with <see cref="Adopt"/>,
/// before or after their node is known.</item>
/// <item>Ask for slices with <see cref="Submit"/>: placed now, queued, or refused with a reason.</item>
/// <item>Give slices back with <see cref="Release"/>; withdraw a waiter with <see cref="Cancel"/>.</item>
/// <item>Every call that can free or add capacity takes an optional list that receives the waiters it placed, in the
/// order they were served; the caller binds them. <see cref="Submit"/> may place other waiters too.</item>
/// <item>Read positions and ETAs with <see cref="Waiters()"/> (O(waiters · log users); not for the hot path),
/// GPU-seconds with <see cref="UsageToday"/>. Tell the ETA about idle timers with <see cref="SetExpectedRelease"/>.</item>
/// </list>
/// <para>Rules. Interactive waiters are served before batch ones. Within a class, the user holding the fewest slices
/// goes first, ties first come first served; one user's requests are served in their order. A user or group at its
/// <see cref="SliceQuota.MaxSlices"/> waits; one past its <see cref="SliceQuota.GpuHoursPerDay"/> is refused. A waiter
/// that cannot be placed reserves the GPU with the most free memory (on its required node, if any) for the rest of the
/// pass: later requests may not take it, so a large request is served once that GPU's slices end instead of being
/// starved by a stream of small ones. A pass stops after <see cref="SchedulerSettings.MaxBlockedPerPass"/> blocked
/// waiters.</para>
/// <para>Placement: the required node only, if set; else the requested GPU (a resume) if it fits, then the preferred
/// node, then the whole pool: best fit (the GPU left with the least free memory, so large holes stay free), and on a
/// tie a GPU already shared (anti-fragmentation). A MIG instance is a fixed slice given whole to one request. A
/// placement by MiB costs O(log GPUs) (a sorted index of free memory); one by share of a GPU scans the GPUs.</para>
/// </remarks>
internal sealed class PoolScheduler
{
    private const double HoldSmoothing = 0.2;

    private readonly Lock _lock = new();
    private readonly TimeProvider _timeProvider;
    private readonly SchedulerSettings _settings;

    private readonly List<Unit> _units = [];
    private readonly Dictionary<string, NodeState> _nodes = new(StringComparer.Ordinal);
    private int[] _sorted = new int[64];
    private int _sortedCount;
    private int _passGeneration;
    private int _exclusiveUnits;

    private readonly Dictionary<string, Holding> _holdings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tally> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tally> _groups = new(StringComparer.Ordinal);

    private readonly ClassQueue[] _classes = [new(), new()];
    private readonly Dictionary<string, Waiter> _waiters = new(StringComparer.Ordinal);
    private readonly List<UserQueue> _skipped = [];
    private long _sequence;
    private long _queueVersion;
    private double _averageHoldSeconds;

    public PoolScheduler(SchedulerSettings settings, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _settings = settings;
        _timeProvider = timeProvider;
        _averageHoldSeconds = settings.InitialHoldEstimate.TotalSeconds;
    }

    /// <summary>How many requests wait.</summary>
    public int WaiterCount
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>
    /// Changes whenever a waiter's position or the queue's length may have changed (a request queued, withdrawn or
    /// served; a waiting user's slice count changed, which moves them in the fair-share order). Equal values mean the
    /// standings <see cref="Waiters()"/> would report are the same, so callers can skip recomputing them.
    /// </summary>
    public long QueueVersion
    {
        get
        {
            lock (_lock)
            {
                return _queueVersion;
            }
        }
    }

    /// <summary>How many slices are held.</summary>
    public int AllocationCount
    {
        get
        {
            lock (_lock)
            {
                return _holdings.Count;
            }
        }
    }

    /// <summary>The moving average of observed hold times (the initial estimate until one was observed).</summary>
    public TimeSpan AverageHold
    {
        get
        {
            lock (_lock)
            {
                return TimeSpan.FromSeconds(_averageHoldSeconds);
            }
        }
    }

    /// <summary>
    /// Adds a node or updates its GPUs, and marks it online. Slices adopted for it before it was known take their
    /// capacity now. Capacity that appears serves waiters (into <paramref name="placed"/>).
    /// </summary>
    public void UpsertNode(string nodeId, IReadOnlyList<GpuCapacity> gpus, List<SliceAllocation>? placed = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentNullException.ThrowIfNull(gpus);
        lock (_lock)
        {
            var node = NodeFor_NeedsLock(nodeId);
            var changed = !node.Online;
            node.Online = true;
            foreach (var unit in node.Units)
            {
                unit.Seen = false;
            }

            foreach (var gpu in gpus)
            {
                if (gpu.MigInstances is { Count: > 0 } instances)
                {
                    foreach (var mig in instances)
                    {
                        changed |= Describe_NeedsLock(node, gpu.Index, mig.Index, mig.MemoryMiB, gpu.MemoryMiB, exclusive: true, mig.Uuid);
                    }
                }
                else
                {
                    changed |= Describe_NeedsLock(node, gpu.Index, -1, gpu.MemoryMiB, gpu.MemoryMiB, exclusive: false);
                }
            }

            foreach (var unit in node.Units)
            {
                if (!unit.Seen && unit.Alive)
                {
                    unit.Alive = false;
                    changed = true;
                }
            }

            foreach (var holding in node.Holdings)
            {
                if (holding.Unit is null && UnitOf_NeedsLock(node, holding.Allocation) is { } unit)
                {
                    holding.Unit = unit;
                    unit.UsedMiB += holding.Allocation.MemoryMiB;
                    unit.UsedCompute += holding.Allocation.ComputePercent;
                    unit.Count++;
                    changed = true;
                }
            }

            if (!changed)
            {
                return;
            }

            foreach (var unit in node.Units)
            {
                Reindex_NeedsLock(unit);
            }

            Pump_NeedsLock(placed);
        }
    }

    /// <summary>
    /// Takes a node out of placement (its agent stopped answering) or puts it back. Its slices stay counted: the agent
    /// may still hold them. Coming back online serves waiters (into <paramref name="placed"/>).
    /// </summary>
    public void SetNodeOnline(string nodeId, bool online, List<SliceAllocation>? placed = null)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(nodeId, out var node) || node.Online == online)
            {
                return;
            }

            node.Online = online;
            foreach (var unit in node.Units)
            {
                Reindex_NeedsLock(unit);
            }

            if (online)
            {
                Pump_NeedsLock(placed);
            }
        }
    }

    /// <summary>
    /// Forgets a node whose agent is gone for good: every slice on it is reclaimed (into <paramref name="reclaimed"/>)
    /// and the capacity freed elsewhere serves nobody, but waiters that required this node keep waiting for it.
    /// </summary>
    public void RemoveNode(string nodeId, List<SliceAllocation>? reclaimed = null, List<SliceAllocation>? placed = null)
    {
        lock (_lock)
        {
            if (!_nodes.Remove(nodeId, out var node))
            {
                return;
            }

            var now = _timeProvider.GetUtcNow();
            foreach (var holding in node.Holdings)
            {
                _holdings.Remove(holding.Allocation.AllocationId);
                Forget_NeedsLock(holding, now, observeHold: false);
                reclaimed?.Add(holding.Allocation);
            }

            node.Holdings.Clear();
            foreach (var unit in node.Units)
            {
                unit.Alive = false;
                Reindex_NeedsLock(unit);
            }

            RecountExclusive_NeedsLock();
            Pump_NeedsLock(placed);
        }
    }

    /// <summary>
    /// Places the request now, queues it, or refuses it. A kernel already waiting keeps its place (the answer is
    /// <see cref="SubmitOutcome.Queued"/> again; the new demand is ignored). Waiters other than this one that the pass
    /// happened to serve are added to <paramref name="alsoPlaced"/>.
    /// </summary>
    public SubmitResult Submit(SliceDemand demand, List<SliceAllocation>? alsoPlaced = null)
    {
        ArgumentNullException.ThrowIfNull(demand);
        lock (_lock)
        {
            if (_waiters.TryGetValue(demand.KernelId, out var existing))
            {
                return new SubmitResult(SubmitOutcome.Queued, null, WaitReason_NeedsLock(existing.Demand));
            }

            if (_holdings.ContainsKey(demand.AllocationId))
            {
                throw new InvalidOperationException($"Allocation {demand.AllocationId} is already held; every demand needs a new id.");
            }

            var now = _timeProvider.GetUtcNow();
            if (Refusal_NeedsLock(demand, now) is { } refusal)
            {
                return new SubmitResult(SubmitOutcome.Refused, null, refusal);
            }

            if (_waiters.Count == 0 && QuotaBlock_NeedsLock(demand) is null)
            {
                // Nobody waits, so nobody is passed over: place directly.
                _passGeneration++;
                if (Choose_NeedsLock(demand) is { } unit)
                {
                    return new SubmitResult(SubmitOutcome.Placed, Allocate_NeedsLock(demand, unit, now, now), null);
                }
            }

            var waiter = Enqueue_NeedsLock(demand, now);
            var placed = alsoPlaced ?? [];
            Pump_NeedsLock(placed);
            if (waiter.Allocation is { } allocation)
            {
                placed.Remove(allocation);
                return new SubmitResult(SubmitOutcome.Placed, allocation, null);
            }

            return new SubmitResult(SubmitOutcome.Queued, null, WaitReason_NeedsLock(demand));
        }
    }

    /// <summary>Gives a slice back; the waiters it lets in are added to <paramref name="placed"/>. False when unknown.</summary>
    public bool Release(string allocationId, List<SliceAllocation>? placed = null)
    {
        lock (_lock)
        {
            if (!_holdings.Remove(allocationId, out var holding))
            {
                return false;
            }

            holding.Node.Holdings.Remove(holding);
            Forget_NeedsLock(holding, _timeProvider.GetUtcNow(), observeHold: true);
            if (_waiters.Count > 0)
            {
                Pump_NeedsLock(placed);
            }

            return true;
        }
    }

    /// <summary>Withdraws a kernel's waiting request; others may move up (and be placed, into <paramref name="placed"/>).</summary>
    public bool Cancel(string kernelId, List<SliceAllocation>? placed = null)
    {
        lock (_lock)
        {
            if (!_waiters.TryGetValue(kernelId, out var waiter))
            {
                return false;
            }

            Dequeue_NeedsLock(waiter);
            if (_waiters.Count > 0)
            {
                Pump_NeedsLock(placed);
            }

            return true;
        }
    }

    /// <summary>
    /// Counts a slice that exists already (restored from the store, found in an agent's ledger) without placing it:
    /// its capacity is taken even beyond physical memory, because the agent holds it. False when the id is held.
    /// </summary>
    public bool Adopt(SliceAllocation allocation)
    {
        ArgumentNullException.ThrowIfNull(allocation);
        lock (_lock)
        {
            if (_holdings.ContainsKey(allocation.AllocationId))
            {
                return false;
            }

            var node = NodeFor_NeedsLock(allocation.NodeId);
            var unit = UnitOf_NeedsLock(node, allocation);
            var holding = new Holding(allocation, node, Tally_NeedsLock(_users, allocation.User), allocation.Group is { } g ? Tally_NeedsLock(_groups, g) : null);
            Take_NeedsLock(holding, unit);
            return true;
        }
    }

    /// <summary>Whether the kernel waits in the queue.</summary>
    public bool IsWaiting(string kernelId)
    {
        lock (_lock)
        {
            return _waiters.ContainsKey(kernelId);
        }
    }

    /// <summary>The slice with this id, if held.</summary>
    public SliceAllocation? Allocation(string allocationId)
    {
        lock (_lock)
        {
            return _holdings.TryGetValue(allocationId, out var holding) ? holding.Allocation : null;
        }
    }

    /// <summary>Every slice held.</summary>
    public IReadOnlyList<SliceAllocation> Allocations()
    {
        lock (_lock)
        {
            var all = new List<SliceAllocation>(_holdings.Count);
            foreach (var holding in _holdings.Values)
            {
                all.Add(holding.Allocation);
            }

            return all;
        }
    }

    /// <summary>How many slices <paramref name="user"/> holds.</summary>
    public int HeldBy(string user)
    {
        lock (_lock)
        {
            return _users.TryGetValue(user, out var tally) ? tally.Held : 0;
        }
    }

    /// <summary>
    /// When the slice is expected back (its kernel's idle-release time); null to fall back on the average hold.
    /// Used only for ETAs.
    /// </summary>
    public void SetExpectedRelease(string allocationId, DateTimeOffset? at)
    {
        lock (_lock)
        {
            if (_holdings.TryGetValue(allocationId, out var holding))
            {
                holding.ExpectedRelease = at;
            }
        }
    }

    /// <summary>Every waiter in the order the queue would serve them, with position and ETA.</summary>
    public IReadOnlyList<WaiterInfo> Waiters() => Waiters(null);

    /// <summary>
    /// The waiters for which <paramref name="include"/> (kernel id, position, queue length) says yes, in the order the
    /// queue would serve them, with position and ETA; every waiter when it is null. The walk of the order is
    /// O(waiters · log users), but ETAs and reasons are computed only for the waiters included, so reporting the few
    /// whose position changed costs little more than the walk.
    /// </summary>
    public IReadOnlyList<WaiterInfo> Waiters(Func<string, int, int, bool>? include)
    {
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            var result = new List<WaiterInfo>(include is null ? _waiters.Count : 0);
            if (_waiters.Count == 0)
            {
                return result;
            }

            double[]? ends = null;
            var position = 0;
            var total = _waiters.Count;
            var cursors = new PriorityQueue<(UserQueue Queue, LinkedListNode<Waiter> Next, int Held), (int Held, long Seq, string User)>(
                Comparer<(int Held, long Seq, string User)>.Create((a, b) =>
                    a.Held != b.Held ? a.Held.CompareTo(b.Held) : a.Seq != b.Seq ? a.Seq.CompareTo(b.Seq) : string.CompareOrdinal(a.User, b.User)));
            foreach (var cq in _classes)
            {
                foreach (var uq in cq.Users.Values)
                {
                    var first = uq.Items.First!;
                    cursors.Enqueue((uq, first, uq.User.Held), (uq.User.Held, first.Value.Sequence, uq.User.Name));
                }

                while (cursors.TryDequeue(out var cursor, out _))
                {
                    var waiter = cursor.Next.Value;
                    position++;
                    if (include is not null && !include(waiter.Demand.KernelId, position, total))
                    {
                        Advance(cursors, cursor);
                        continue;
                    }

                    ends ??= ExpectedEnds_NeedsLock(now);
                    result.Add(new WaiterInfo(
                        waiter.Demand.KernelId,
                        waiter.Demand.User,
                        waiter.Demand.Priority,
                        position,
                        total,
                        Eta(ends, position, _averageHoldSeconds),
                        waiter.Demand.GpuFraction is null ? waiter.Demand.MemoryMiB : 0,
                        waiter.Demand.GpuFraction,
                        waiter.Since,
                        WaitReason_NeedsLock(waiter.Demand)));
                    Advance(cursors, cursor);
                }
            }

            return result;
        }
    }

    private static void Advance(
        PriorityQueue<(UserQueue Queue, LinkedListNode<Waiter> Next, int Held), (int Held, long Seq, string User)> cursors,
        (UserQueue Queue, LinkedListNode<Waiter> Next, int Held) cursor)
    {
        if (cursor.Next.Next is { } next)
        {
            var held = cursor.Held + 1;
            cursors.Enqueue((cursor.Queue, next, held), (held, next.Value.Sequence, cursor.Queue.User.Name));
        }
    }

    /// <summary>
    /// The batch slices to suspend so that the interactive request of <paramref name="kernelId"/>, which waits, fits
    /// now; empty when the policy is off, the kernel does not wait (or is batch itself), or no set of eligible batch
    /// slices on one GPU makes room. Eligible: a batch slice held at least <see cref="PreemptionOptions.OlderThan"/> and
    /// <see cref="PreemptionOptions.BatchMinimumHold"/>. Of the GPUs where room can be made (the required node's only,
    /// when the request names one), the one needing the fewest victims wins, then the one suspending the least memory;
    /// on a GPU the largest eligible slices go first, the youngest first among equals (the least work behind them).
    /// Pure: nothing changes until the caller suspends the victims and releases their slices.
    /// </summary>
    public IReadOnlyList<SliceAllocation> PreemptionVictims(string kernelId, PreemptionOptions policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        lock (_lock)
        {
            if (policy.Mode == PreemptionMode.Off || !_waiters.TryGetValue(kernelId, out var waiter) || waiter.Demand.Priority != PriorityClass.Interactive)
            {
                return [];
            }

            var demand = waiter.Demand;
            var now = _timeProvider.GetUtcNow();
            var minimumAge = policy.OlderThan > policy.BatchMinimumHold ? policy.OlderThan : policy.BatchMinimumHold;
            List<Holding>? best = null;
            long bestMiB = 0;
            var candidates = new List<Holding>();
            foreach (var node in _nodes.Values)
            {
                if (!node.Online || (demand.RequiredNodeId is { } required && required != node.Id))
                {
                    continue;
                }

                foreach (var unit in node.Units)
                {
                    var need = Need(demand, unit);
                    if (!unit.Alive || unit.TotalMiB < need)
                    {
                        continue;
                    }

                    candidates.Clear();
                    foreach (var holding in node.Holdings)
                    {
                        if (holding.Unit == unit && holding.Allocation.Priority == PriorityClass.Batch && now - holding.Allocation.PlacedAt >= minimumAge)
                        {
                            candidates.Add(holding);
                        }
                    }

                    candidates.Sort(static (a, b) =>
                        a.Allocation.MemoryMiB != b.Allocation.MemoryMiB ? b.Allocation.MemoryMiB.CompareTo(a.Allocation.MemoryMiB)
                        : a.Allocation.PlacedAt != b.Allocation.PlacedAt ? b.Allocation.PlacedAt.CompareTo(a.Allocation.PlacedAt)
                        : string.CompareOrdinal(a.Allocation.AllocationId, b.Allocation.AllocationId));
                    var freeMiB = unit.TotalMiB - unit.UsedMiB;
                    var freeCompute = 100 - unit.UsedCompute;
                    var left = unit.Count;
                    var chosen = new List<Holding>();
                    long chosenMiB = 0;
                    foreach (var holding in candidates)
                    {
                        if (RoomFor(unit, demand, need, freeMiB, freeCompute, left))
                        {
                            break;
                        }

                        chosen.Add(holding);
                        chosenMiB += holding.Allocation.MemoryMiB;
                        freeMiB += holding.Allocation.MemoryMiB;
                        freeCompute += holding.Allocation.ComputePercent;
                        left--;
                    }

                    if (chosen.Count == 0 || !RoomFor(unit, demand, need, freeMiB, freeCompute, left))
                    {
                        continue;
                    }

                    if (best is null || chosen.Count < best.Count || (chosen.Count == best.Count && chosenMiB < bestMiB))
                    {
                        best = chosen;
                        bestMiB = chosenMiB;
                    }
                }
            }

            return best is null ? [] : best.ConvertAll(h => h.Allocation);
        }
    }

    private static bool RoomFor(Unit unit, SliceDemand demand, long need, long freeMiB, int freeCompute, int holdingsLeft) =>
        unit.Exclusive ? holdingsLeft == 0 : freeMiB >= need && freeCompute >= demand.ComputePercent;

    /// <summary>GPU-seconds used today (UTC) per user, slices still held included; a slice counts by its share of the GPU's memory.</summary>
    public IReadOnlyDictionary<string, double> UsageToday()
    {
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            var usage = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var tally in _users.Values)
            {
                var seconds = UsedToday_NeedsLock(tally, now);
                if (seconds > 0)
                {
                    usage[tally.Name] = seconds;
                }
            }

            return usage;
        }
    }

    private static double? Eta(double[] ends, int position, double roundSeconds)
    {
        if (ends.Length == 0)
        {
            return null;
        }

        // Each waiter ahead takes the next slice expected back; past the last, each round adds one more average hold.
        var index = (position - 1) % ends.Length;
        var rounds = (position - 1) / ends.Length;
        return ends[index] + (rounds * roundSeconds);
    }

    private double[] ExpectedEnds_NeedsLock(DateTimeOffset now)
    {
        var ends = new double[_holdings.Count];
        var i = 0;
        foreach (var holding in _holdings.Values)
        {
            var end = holding.ExpectedRelease ?? holding.Allocation.PlacedAt.AddSeconds(_averageHoldSeconds);
            ends[i++] = Math.Max(0, (end - now).TotalSeconds);
        }

        Array.Sort(ends);
        return ends;
    }

    private string? Refusal_NeedsLock(SliceDemand demand, DateTimeOffset now)
    {
        if (demand.ComputePercent is < 1 or > 100)
        {
            return $"a slice's compute share must be between 1 and 100%, not {demand.ComputePercent}%";
        }

        if (demand.GpuFraction is { } fraction ? fraction is not (> 0 and <= 1) : demand.MemoryMiB <= 0)
        {
            return "a slice needs a positive size: some MiB of device memory, or a share of a GPU above 0 and at most 1";
        }

        if (HoursLeft_NeedsLock(_users, demand.User, QuotaOf(demand.User, user: true), now) is { } userHours)
        {
            return $"user {demand.User} has used the {userHours:0.##} GPU-hours allowed per day; the quota resets at midnight UTC (ask an administrator for more)";
        }

        if (demand.Group is { } group && HoursLeft_NeedsLock(_groups, group, QuotaOf(group, user: false), now) is { } groupHours)
        {
            return $"group {group} has used the {groupHours:0.##} GPU-hours allowed per day; the quota resets at midnight UTC";
        }

        // Capacity of nodes that are offline for now counts for "could ever fit": their agents may come back.
        long largest = 0;
        var online = 0;
        var fits = false;
        if (demand.RequiredNodeId is { } nodeId)
        {
            if (!_nodes.TryGetValue(nodeId, out var node) || !node.Online || node.Units.Count == 0)
            {
                return $"node {nodeId} is not registered with the broker (or its agent stopped sending heartbeats): check its attach agent";
            }

            CheckFit(node, demand, ref largest, ref online, ref fits);
        }
        else
        {
            foreach (var node in _nodes.Values)
            {
                CheckFit(node, demand, ref largest, ref online, ref fits);
                if (fits && online > 0 && _exclusiveUnits == 0)
                {
                    break;
                }
            }
        }

        if (online == 0)
        {
            return "no GPU node is registered with the broker: check that an attach agent is running and can reach the broker";
        }

        return fits
            ? null
            : $"no GPU{(demand.RequiredNodeId is { } n ? $" on node {n}" : " in the pool")} is large enough for {Describe(demand)} (the largest has {Attach.Contracts.Pool.MemorySize.Format(largest)}); ask for a smaller slice";
    }

    private static void CheckFit(NodeState node, SliceDemand demand, ref long largest, ref int online, ref bool fits)
    {
        foreach (var unit in node.Units)
        {
            if (unit.Alive)
            {
                online += node.Online ? 1 : 0;
                largest = Math.Max(largest, unit.TotalMiB);
                fits |= unit.TotalMiB >= Need(demand, unit);
            }
        }
    }

    private static double? HoursLeft_NeedsLock(Dictionary<string, Tally> tallies, string name, SliceQuota? quota, DateTimeOffset now)
    {
        if (quota?.GpuHoursPerDay is not { } hours)
        {
            return null;
        }

        var used = tallies.TryGetValue(name, out var tally) ? UsedToday_NeedsLock(tally, now) : 0;
        return used >= hours * 3600 ? hours : null;
    }

    private static double UsedToday_NeedsLock(Tally tally, DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var seconds = tally.Day == today ? tally.Seconds : 0;
        var dayStart = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        foreach (var holding in tally.Live)
        {
            seconds += Share(holding) * Math.Max(0, (now - Max(holding.Allocation.PlacedAt, dayStart)).TotalSeconds);
        }

        return seconds;
    }

    private SliceQuota? QuotaOf(string name, bool user) =>
        user
            ? _settings.UserQuotas.TryGetValue(name, out var quota) ? quota : _settings.DefaultUserQuota
            : _settings.GroupQuotas.TryGetValue(name, out var groupQuota) ? groupQuota : null;

    private string? QuotaBlock_NeedsLock(SliceDemand demand)
    {
        if (QuotaOf(demand.User, user: true)?.MaxSlices is { } max && _users.TryGetValue(demand.User, out var tally) && tally.Held >= max)
        {
            return $"user {demand.User} holds {tally.Held} slices, the most allowed at once; waiting for one of them to be released";
        }

        if (demand.Group is { } group && QuotaOf(group, user: false)?.MaxSlices is { } groupMax
            && _groups.TryGetValue(group, out var groupTally) && groupTally.Held >= groupMax)
        {
            return $"group {group} holds {groupTally.Held} slices, the most allowed at once; waiting for one of them to be released";
        }

        return null;
    }

    private string WaitReason_NeedsLock(SliceDemand demand) =>
        QuotaBlock_NeedsLock(demand)
        ?? $"no GPU{(demand.RequiredNodeId is { } n ? $" on node {n}" : "")} has {Describe(demand)} free; waiting for a slice to be released";

    private static string Describe(SliceDemand demand) =>
        demand.GpuFraction is { } fraction
            ? $"{fraction:P0} of a GPU and {demand.ComputePercent}% of its compute"
            : $"{Attach.Contracts.Pool.MemorySize.Format(demand.MemoryMiB)} and {demand.ComputePercent}% of its compute";

    private void Pump_NeedsLock(List<SliceAllocation>? placed)
    {
        if (_waiters.Count == 0)
        {
            return;
        }

        _passGeneration++;
        var now = _timeProvider.GetUtcNow();
        var blocked = 0;
        foreach (var cq in _classes)
        {
            _skipped.Clear();
            while (cq.Order.Count > 0 && blocked < _settings.MaxBlockedPerPass)
            {
                var uq = cq.Order.Min!;
                cq.Order.Remove(uq);
                uq.InOrder = false;
                var waiter = uq.Items.First!.Value;
                if (QuotaBlock_NeedsLock(waiter.Demand) is not null)
                {
                    _skipped.Add(uq);
                    continue;
                }

                if (Choose_NeedsLock(waiter.Demand) is not { } unit)
                {
                    ReserveFor_NeedsLock(waiter.Demand);
                    blocked++;
                    _skipped.Add(uq);
                    continue;
                }

                uq.Items.RemoveFirst();
                _waiters.Remove(waiter.Demand.KernelId);
                _queueVersion++;
                waiter.Allocation = Allocate_NeedsLock(waiter.Demand, unit, waiter.Since, now);
                placed?.Add(waiter.Allocation);
                if (uq.Items.Count > 0)
                {
                    AddToOrder(cq, uq);
                }
                else
                {
                    cq.Users.Remove(uq.User.Name);
                    uq.User.Queues[(int)waiter.Demand.Priority] = null;
                }
            }

            foreach (var uq in _skipped)
            {
                AddToOrder(cq, uq);
            }

            _skipped.Clear();
        }
    }

    private static void AddToOrder(ClassQueue cq, UserQueue uq)
    {
        uq.KeyHeld = uq.User.Held;
        uq.KeySequence = uq.Items.First!.Value.Sequence;
        cq.Order.Add(uq);
        uq.InOrder = true;
    }

    private static void Rekey(ClassQueue cq, UserQueue uq)
    {
        if (uq.InOrder)
        {
            cq.Order.Remove(uq);
            AddToOrder(cq, uq);
        }
    }

    private Waiter Enqueue_NeedsLock(SliceDemand demand, DateTimeOffset now)
    {
        var tally = Tally_NeedsLock(_users, demand.User);
        var cls = (int)demand.Priority;
        var cq = _classes[cls];
        var uq = tally.Queues[cls];
        if (uq is null)
        {
            uq = new UserQueue(tally);
            tally.Queues[cls] = uq;
            cq.Users[tally.Name] = uq;
        }

        var waiter = new Waiter(demand, ++_sequence, now);
        waiter.Node = uq.Items.AddLast(waiter);
        _waiters[demand.KernelId] = waiter;
        _queueVersion++;
        if (!uq.InOrder)
        {
            AddToOrder(cq, uq);
        }

        return waiter;
    }

    private void Dequeue_NeedsLock(Waiter waiter)
    {
        var cls = (int)waiter.Demand.Priority;
        var cq = _classes[cls];
        var uq = _users[waiter.Demand.User].Queues[cls]!;
        var wasHead = uq.Items.First == waiter.Node;
        if (uq.InOrder && wasHead)
        {
            cq.Order.Remove(uq);
            uq.InOrder = false;
        }

        uq.Items.Remove(waiter.Node!);
        _waiters.Remove(waiter.Demand.KernelId);
        _queueVersion++;
        if (uq.Items.Count == 0)
        {
            if (uq.InOrder)
            {
                cq.Order.Remove(uq);
            }

            cq.Users.Remove(uq.User.Name);
            uq.User.Queues[cls] = null;
        }
        else if (!uq.InOrder)
        {
            AddToOrder(cq, uq);
        }
    }

    /// <summary>Where <paramref name="demand"/> goes now, honouring this pass's reservations; null when nothing fits.</summary>
    private Unit? Choose_NeedsLock(SliceDemand demand)
    {
        if (demand.RequiredNodeId is { } required)
        {
            return _nodes.TryGetValue(required, out var node) && node.Online ? BestOn_NeedsLock(node, demand, demand.PreferredGpuIndex) : null;
        }

        if (demand.PreferredNodeId is { } preferred && _nodes.TryGetValue(preferred, out var preferredNode) && preferredNode.Online
            && BestOn_NeedsLock(preferredNode, demand, demand.PreferredGpuIndex) is { } local)
        {
            return local;
        }

        return demand.GpuFraction is null ? BestByMemory_NeedsLock(demand) : BestByShare_NeedsLock(demand);
    }

    private Unit? BestOn_NeedsLock(NodeState node, SliceDemand demand, int? preferredGpu)
    {
        Unit? best = null;
        long bestAfter = long.MaxValue;
        foreach (var unit in node.Units)
        {
            if (!Fits(unit, demand, out var after))
            {
                continue;
            }

            if (preferredGpu == unit.GpuIndex)
            {
                return unit;
            }

            if (best is null || after < bestAfter || (after == bestAfter && unit.Count > 0 && best.Count == 0))
            {
                best = unit;
                bestAfter = after;
            }
        }

        return best;
    }

    private Unit? BestByMemory_NeedsLock(SliceDemand demand)
    {
        var i = LowerBound(demand.MemoryMiB);
        for (; i < _sortedCount; i++)
        {
            var unit = _units[_sorted[i]];
            if (Fits(unit, demand, out _))
            {
                return unit;
            }
        }

        return null;
    }

    private Unit? BestByShare_NeedsLock(SliceDemand demand)
    {
        Unit? best = null;
        long bestAfter = long.MaxValue;
        for (var i = 0; i < _sortedCount; i++)
        {
            var unit = _units[_sorted[i]];
            if (Fits(unit, demand, out var after) && (best is null || after < bestAfter))
            {
                best = unit;
                bestAfter = after;
            }
        }

        return best;
    }

    private bool Fits(Unit unit, SliceDemand demand, out long freeAfter)
    {
        freeAfter = 0;
        if (!unit.InIndex || unit.ReservedIn == _passGeneration)
        {
            return false;
        }

        var need = Need(demand, unit);
        if (unit.Exclusive)
        {
            freeAfter = unit.TotalMiB - need;
            return unit.Count == 0 && freeAfter >= 0;
        }

        freeAfter = unit.TotalMiB - unit.UsedMiB - need;
        return freeAfter >= 0 && unit.UsedCompute + demand.ComputePercent <= 100;
    }

    private static long Need(SliceDemand demand, Unit unit) =>
        demand.GpuFraction is { } fraction ? (long)Math.Ceiling(fraction * unit.GpuTotalMiB) : demand.MemoryMiB;

    /// <summary>Keeps the GPU with the most free memory that could ever hold <paramref name="demand"/> for it, for the rest of the pass.</summary>
    private void ReserveFor_NeedsLock(SliceDemand demand)
    {
        if (demand.RequiredNodeId is { } required)
        {
            if (_nodes.TryGetValue(required, out var node) && node.Online)
            {
                Unit? best = null;
                foreach (var unit in node.Units)
                {
                    if (unit.InIndex && unit.ReservedIn != _passGeneration && unit.TotalMiB >= Need(demand, unit) && (best is null || unit.KeyFree > best.KeyFree))
                    {
                        best = unit;
                    }
                }

                best?.ReservedIn = _passGeneration;
            }

            return;
        }

        for (var i = _sortedCount - 1; i >= 0; i--)
        {
            var unit = _units[_sorted[i]];
            if (unit.ReservedIn != _passGeneration && unit.TotalMiB >= Need(demand, unit))
            {
                unit.ReservedIn = _passGeneration;
                return;
            }
        }
    }

    private SliceAllocation Allocate_NeedsLock(SliceDemand demand, Unit unit, DateTimeOffset requestedAt, DateTimeOffset now)
    {
        var allocation = new SliceAllocation(
            demand.AllocationId,
            demand.KernelId,
            demand.User,
            demand.Group,
            demand.Priority,
            unit.Node.Id,
            unit.GpuIndex,
            unit.MigIndex < 0 ? null : unit.MigIndex,
            unit.Exclusive ? unit.TotalMiB : Need(demand, unit),
            unit.Exclusive ? 100 : demand.ComputePercent,
            unit.GpuTotalMiB,
            requestedAt,
            now,
            unit.MigUuid);
        var holding = new Holding(allocation, unit.Node, Tally_NeedsLock(_users, demand.User), demand.Group is { } g ? Tally_NeedsLock(_groups, g) : null);
        Take_NeedsLock(holding, unit);
        return allocation;
    }

    private void Take_NeedsLock(Holding holding, Unit? unit)
    {
        _holdings.Add(holding.Allocation.AllocationId, holding);
        holding.Node.Holdings.Add(holding);
        holding.Unit = unit;
        if (unit is not null)
        {
            unit.UsedMiB += holding.Allocation.MemoryMiB;
            unit.UsedCompute += holding.Allocation.ComputePercent;
            unit.Count++;
            Reindex_NeedsLock(unit);
        }

        ChangeHeld_NeedsLock(holding.User, +1);
        holding.User.Live.Add(holding);
        if (holding.Group is { } group)
        {
            group.Held++;
            group.Live.Add(holding);
        }
    }

    private void Forget_NeedsLock(Holding holding, DateTimeOffset now, bool observeHold)
    {
        if (holding.Unit is { } unit)
        {
            unit.UsedMiB -= holding.Allocation.MemoryMiB;
            unit.UsedCompute -= holding.Allocation.ComputePercent;
            unit.Count--;
            Reindex_NeedsLock(unit);
        }

        var seconds = Share(holding) * Math.Max(0, (now - Max(holding.Allocation.PlacedAt, new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero))).TotalSeconds);
        Accrue(holding.User, seconds, now);
        holding.User.Live.Remove(holding);
        ChangeHeld_NeedsLock(holding.User, -1);
        if (holding.Group is { } group)
        {
            Accrue(group, seconds, now);
            group.Live.Remove(holding);
            group.Held--;
        }

        if (observeHold)
        {
            var held = Math.Max(0, (now - holding.Allocation.PlacedAt).TotalSeconds);
            _averageHoldSeconds += HoldSmoothing * (held - _averageHoldSeconds);
        }
    }

    private static void Accrue(Tally tally, double seconds, DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        if (tally.Day != today)
        {
            tally.Day = today;
            tally.Seconds = 0;
        }

        tally.Seconds += seconds;
    }

    private static double Share(Holding holding)
    {
        var total = holding.Unit?.GpuTotalMiB ?? holding.Allocation.GpuMemoryMiB;
        return total > 0 ? Math.Min(1, (double)holding.Allocation.MemoryMiB / total) : 1;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private void ChangeHeld_NeedsLock(Tally user, int delta)
    {
        user.Held += delta;
        for (var cls = 0; cls < _classes.Length; cls++)
        {
            if (user.Queues[cls] is { } uq)
            {
                // The user's place in the fair-share order moves, and with it the positions of others.
                _queueVersion++;
                Rekey(_classes[cls], uq);
            }
        }
    }

    private static Tally Tally_NeedsLock(Dictionary<string, Tally> tallies, string name)
    {
        if (!tallies.TryGetValue(name, out var tally))
        {
            tally = new Tally(name);
            tallies.Add(name, tally);
        }

        return tally;
    }

    private NodeState NodeFor_NeedsLock(string nodeId)
    {
        if (!_nodes.TryGetValue(nodeId, out var node))
        {
            node = new NodeState(nodeId);
            _nodes.Add(nodeId, node);
        }

        return node;
    }

    /// <summary>
    /// Where an adopted slice counts. A lease that records its MIG instance's UUID takes that instance. One that does not
    /// (a lease from before MIG UUIDs were recorded, or an agent that could not read them) adopted on a GPU in MIG mode
    /// (a broker restart) takes a free instance of its size on that GPU, or else the smallest free one that holds it:
    /// its capacity is counted, and no other kernel can be given that instance while the agent holds it.
    /// </summary>
    private static Unit? UnitOf_NeedsLock(NodeState node, SliceAllocation allocation)
    {
        if (allocation.MigUuid is { } migUuid)
        {
            foreach (var unit in node.Units)
            {
                if (unit.GpuIndex == allocation.GpuIndex && unit.Alive && string.Equals(unit.MigUuid, migUuid, StringComparison.Ordinal))
                {
                    return unit;
                }
            }
        }

        var exact = FindUnit_NeedsLock(node, allocation.GpuIndex, allocation.MigIndex ?? -1);
        if (exact is not null || allocation.MigIndex is not null)
        {
            return exact;
        }

        Unit? best = null;
        foreach (var unit in node.Units)
        {
            if (unit.GpuIndex == allocation.GpuIndex && unit.Exclusive && unit.Alive && unit.Count == 0 && unit.TotalMiB >= allocation.MemoryMiB
                && (best is null || unit.TotalMiB < best.TotalMiB))
            {
                best = unit;
            }
        }

        return best;
    }

    private static Unit? FindUnit_NeedsLock(NodeState node, int gpuIndex, int migIndex)
    {
        foreach (var unit in node.Units)
        {
            if (unit.GpuIndex == gpuIndex && unit.MigIndex == migIndex && unit.Alive)
            {
                return unit;
            }
        }

        return null;
    }

    private bool Describe_NeedsLock(NodeState node, int gpuIndex, int migIndex, long totalMiB, long gpuTotalMiB, bool exclusive, string? migUuid = null)
    {
        foreach (var existing in node.Units)
        {
            if (existing.GpuIndex == gpuIndex && existing.MigIndex == migIndex)
            {
                existing.Seen = true;

                // The UUID is the instance's name for the agent; it changes nothing the scheduler counts.
                existing.MigUuid = migUuid;
                if (existing.Alive && existing.TotalMiB == totalMiB && existing.GpuTotalMiB == gpuTotalMiB && existing.Exclusive == exclusive)
                {
                    return false;
                }

                existing.Alive = true;
                existing.TotalMiB = totalMiB;
                existing.GpuTotalMiB = gpuTotalMiB;
                existing.Exclusive = exclusive;
                RecountExclusive_NeedsLock();
                return true;
            }
        }

        var unit = new Unit(_units.Count, node, gpuIndex, migIndex, totalMiB, gpuTotalMiB, exclusive) { Seen = true, MigUuid = migUuid };
        _units.Add(unit);
        node.Units.Add(unit);
        if (exclusive)
        {
            _exclusiveUnits++;
        }

        return true;
    }

    private void RecountExclusive_NeedsLock()
    {
        var count = 0;
        foreach (var unit in _units)
        {
            if (unit.Alive && unit.Exclusive)
            {
                count++;
            }
        }

        _exclusiveUnits = count;
    }

    /// <summary>Puts the unit where its free memory now belongs in the sorted index (or out of it, when it can take nothing).</summary>
    private void Reindex_NeedsLock(Unit unit)
    {
        if (unit.InIndex)
        {
            var at = IndexOf(unit);
            Array.Copy(_sorted, at + 1, _sorted, at, _sortedCount - at - 1);
            _sortedCount--;
            unit.InIndex = false;
        }

        if (!unit.Alive || !unit.Node.Online || (unit.Exclusive && unit.Count > 0))
        {
            return;
        }

        unit.KeyFree = unit.Exclusive ? unit.TotalMiB : unit.TotalMiB - unit.UsedMiB;
        if (unit.KeyFree < 0)
        {
            return;
        }

        unit.KeyUnshared = unit.Count > 0 ? 0 : 1;
        if (_sortedCount == _sorted.Length)
        {
            Array.Resize(ref _sorted, _sorted.Length * 2);
        }

        var insert = InsertionPoint(unit);
        Array.Copy(_sorted, insert, _sorted, insert + 1, _sortedCount - insert);
        _sorted[insert] = unit.Id;
        _sortedCount++;
        unit.InIndex = true;
    }

    private static int Compare(Unit a, Unit b) =>
        a.KeyFree != b.KeyFree ? a.KeyFree.CompareTo(b.KeyFree)
        : a.KeyUnshared != b.KeyUnshared ? a.KeyUnshared.CompareTo(b.KeyUnshared)
        : a.Id.CompareTo(b.Id);

    private int InsertionPoint(Unit unit)
    {
        int lo = 0, hi = _sortedCount;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (Compare(_units[_sorted[mid]], unit) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private int IndexOf(Unit unit)
    {
        var at = InsertionPoint(unit);
        if (at >= _sortedCount || _sorted[at] != unit.Id)
        {
            throw new InvalidOperationException($"The placement index lost GPU {unit.GpuIndex} of node {unit.Node.Id}.");
        }

        return at;
    }

    /// <summary>The first index whose unit has at least <paramref name="memoryMiB"/> free.</summary>
    private int LowerBound(long memoryMiB)
    {
        int lo = 0, hi = _sortedCount;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_units[_sorted[mid]].KeyFree < memoryMiB)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>A GPU, or one MIG instance of it: what slices are placed on.</summary>
    private sealed class Unit(int id, NodeState node, int gpuIndex, int migIndex, long totalMiB, long gpuTotalMiB, bool exclusive)
    {
        public int Id { get; } = id;

        public NodeState Node { get; } = node;

        public int GpuIndex { get; } = gpuIndex;

        public int MigIndex { get; } = migIndex;

        /// <summary>The MIG instance's UUID (<c>MIG-…</c>) as the agent reported it; null for a whole GPU or when not reported.</summary>
        public string? MigUuid { get; set; }

        public long TotalMiB { get; set; } = totalMiB;

        public long GpuTotalMiB { get; set; } = gpuTotalMiB;

        public bool Exclusive { get; set; } = exclusive;

        public bool Alive { get; set; } = true;

        public bool Seen { get; set; }

        public long UsedMiB { get; set; }

        public int UsedCompute { get; set; }

        public int Count { get; set; }

        public bool InIndex { get; set; }

        public long KeyFree { get; set; }

        public int KeyUnshared { get; set; }

        public int ReservedIn { get; set; }
    }

    private sealed class NodeState(string id)
    {
        public string Id { get; } = id;

        public bool Online { get; set; }

        public List<Unit> Units { get; } = [];

        public HashSet<Holding> Holdings { get; } = [];
    }

    private sealed class Holding(SliceAllocation allocation, NodeState node, Tally user, Tally? group)
    {
        public SliceAllocation Allocation { get; } = allocation;

        public NodeState Node { get; } = node;

        public Tally User { get; } = user;

        public Tally? Group { get; } = group;

        public Unit? Unit { get; set; }

        public DateTimeOffset? ExpectedRelease { get; set; }
    }

    /// <summary>A user's or group's slices held and GPU-seconds used today.</summary>
    private sealed class Tally(string name)
    {
        public string Name { get; } = name;

        public int Held { get; set; }

        public DateOnly Day { get; set; }

        public double Seconds { get; set; }

        public HashSet<Holding> Live { get; } = [];

        /// <summary>The user's waiting requests per class (null when none); unused for groups.</summary>
        public UserQueue?[] Queues { get; } = new UserQueue?[2];
    }

    private sealed class Waiter(SliceDemand demand, long sequence, DateTimeOffset since)
    {
        public SliceDemand Demand { get; } = demand;

        public long Sequence { get; } = sequence;

        public DateTimeOffset Since { get; } = since;

        public LinkedListNode<Waiter>? Node { get; set; }

        public SliceAllocation? Allocation { get; set; }
    }

    /// <summary>One user's waiters in one class, first come first; keyed in its class's order by what it held when (re)inserted.</summary>
    private sealed class UserQueue(Tally user)
    {
        public Tally User { get; } = user;

        public LinkedList<Waiter> Items { get; } = new();

        public bool InOrder { get; set; }

        public int KeyHeld { get; set; }

        public long KeySequence { get; set; }
    }

    private sealed class ClassQueue
    {
        public Dictionary<string, UserQueue> Users { get; } = new(StringComparer.Ordinal);

        /// <summary>Users by slices held, then by their oldest waiter: the next one served is <c>Min</c>.</summary>
        public SortedSet<UserQueue> Order { get; } = new(Comparer<UserQueue>.Create(static (a, b) =>
            a.KeyHeld != b.KeyHeld ? a.KeyHeld.CompareTo(b.KeyHeld)
            : a.KeySequence != b.KeySequence ? a.KeySequence.CompareTo(b.KeySequence)
            : string.CompareOrdinal(a.User.Name, b.User.Name)));
    }
}
