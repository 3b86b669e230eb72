using System.Diagnostics;
using System.Globalization;
using System.Security.Claims;
using Attach.Broker.Apis;
using Attach.Broker.Kernels;
using Attach.Broker.Persistence;
using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Attach.ServiceDefaults.Security;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Persistence;

/// <summary>
/// Random sequences of attach (waiting when full), release, suspend to host memory (the idle policy's), resume, agent
/// death (now, or with its next call, its answer sent or lost) and return (empty, or still holding its ledger), time
/// passing with heartbeats and the dead-node sweep, and broker restarts, run on the broker's own parts as it wires
/// them: kernel state machines in a <see cref="KernelRegistry"/>, the real <see cref="GpuBinder"/> and
/// <see cref="AgentClient"/>, the lease table and scheduler over a SQLite store (PostgreSQL:
/// <see cref="PostgresSuspendRestartPropertyTests"/>), the heartbeat endpoint, the <see cref="DeadNodeReaper"/>'s sweep
/// and, at each restart, a new broker over the same database with <see cref="BrokerStateRestorer"/> (the old one
/// abandoned as a kill leaves it). The agents are <see cref="LedgerAgents"/>: they keep ledgers and suspended processes
/// as real agents do, and refuse (and record) whatever would over-allocate a GPU.
/// Once the broker is quiet after each step: no GPU holds more memory or compute than it has (the broker has no
/// overcommit policy), the table's leases are the scheduler's slices and the store's, each kernel holds at most one
/// bound lease and an attached kernel exactly its own, a suspended kernel holds none, is recorded as suspended in the
/// store and its process is in its node's host memory, a resumed kernel is on the node it was suspended on, the queue
/// is exactly the queued kernels, no lease leaves the table while its agent still holds it unless the sweep reclaimed
/// it, nothing a live agent holds is unknown to the broker, and epochs only grow, across restarts too. A request that
/// waited in the queue when the broker restarted is gone with the process (the queue is not persisted): its kernel
/// comes back Detached, or Suspended when it waited to resume, and its cell asks again. At the end, with every agent
/// back, releasing slices serves every waiter, and every suspended kernel resumes on its own node in an empty pool.
/// </summary>
public sealed class SuspendRestartPropertyTests
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan QuietWithin = TimeSpan.FromSeconds(20);
    private static readonly ClaimsPrincipal Service = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, AttachClaims.ServiceUser)], "test"));
    private static readonly Dictionary<string, GpuInfo[]> Pool = new(StringComparer.Ordinal)
    {
        ["node-a"] = [Gpu(0, 80), Gpu(1, 40, "A100 40GB")],
        ["node-b"] = [Gpu(0, 80)],
    };

    private static readonly string[] Users = ["ada", "grace", "linus"];

    [Property(MaxTest = 25, Arbitrary = [typeof(SuspendRestartSteps)])]
    public Task RandomAttachReleaseSuspendAgentDeathAndRestart_KeepThePoolConsistentAndServeEveryWaiter(PoolStep[] operations) =>
        // Off the test framework's synchronisation context: the broker's continuations run on the thread pool, as in the service.
        Task.Run(() => RunAsync(new SqliteTestStore(), operations ?? []));

    /// <summary>Runs one sequence over a fresh database of <paramref name="db"/>'s kind, and drops it.</summary>
    internal static async Task RunAsync(TestStore db, PoolStep[] operations)
    {
        using var run = new Run(db);
        await run.ExecuteAsync(operations);
    }

    /// <summary>One sequence: the agents, the database, and the broker now running over it.</summary>
    private sealed class Run : IDisposable
    {
        private readonly TestStore _db;
        private readonly LedgerAgents _agents = new(Pool, PidOf);
        private readonly List<IDisposable> _disposables = [];
        private readonly Dictionary<string, string> _owners = new(StringComparer.Ordinal);
        private readonly Dictionary<string, SliceRequest> _lastRequest = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Task<AttachOutcome>> _asks = new(StringComparer.Ordinal);
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private readonly HashSet<string> _reclaimed = new(StringComparer.Ordinal);
        private readonly List<string> _log = [];
        private Dictionary<string, Lease> _previous = new(StringComparer.Ordinal);
        private Dictionary<string, SuspendedProcess> _suspendedBefore = new(StringComparer.Ordinal);
        private DateTimeOffset _now = Epoch;
        private long _lastEpoch;
        private int _next;
        private Broker _broker;

        public Run(TestStore db)
        {
            _db = db;
            _broker = Start();
        }

        public void Dispose()
        {
            foreach (var disposable in _disposables)
            {
                disposable.Dispose();
            }

            _agents.Dispose();
            _db.Dispose();
        }

        public async Task ExecuteAsync(PoolStep[] operations)
        {
            foreach (var node in Pool.Keys)
            {
                Beat(node);
            }

            await CheckAsync("start");
            foreach (var (kind, p) in operations)
            {
                switch (kind)
                {
                    case < 25:
                        await AskAsync(p, kind < 10 ? PriorityClass.Interactive : PriorityClass.Batch);
                        break;
                    case < 40:
                        await ReleaseAsync(p);
                        break;
                    case < 55:
                        await SuspendAsync(p);
                        break;
                    case < 67:
                        await ResumeAsync(p);
                        break;
                    case < 77:
                        await AgentDiesOrReturnsAsync(p);
                        break;
                    case < 89:
                        await TimePassesAsync(TimeSpan.FromSeconds(p % 45));
                        break;
                    default:
                        await RestartAsync();
                        break;
                }
            }

            await FinishAsync();
        }

        /// <summary>A GPU cell asks for a slice: a new kernel, or one that holds none (a suspended one resumes).</summary>
        private async Task AskAsync(int p, PriorityClass priority)
        {
            var idle = Kernels().Where(k => k.Status.State is KernelState.Detached or KernelState.Failed or KernelState.Suspended).ToList();
            KernelStateMachine kernel;
            if (p % 3 == 0 && idle.Count > 0)
            {
                kernel = idle[p / 3 % idle.Count];
            }
            else
            {
                var id = $"k{_next++}";
                var user = Users[p / 3 % Users.Length];
                _owners.Add(id, user);
                kernel = _broker.Kernels.GetOrAdd(id, user)!;
                kernel.ReportProcess(PidOf(id));
            }

            var size = (p / 9 % 4) switch { 0 => 10 * GiB, 1 => 20 * GiB, 2 => 40 * GiB, _ => 80 * GiB };
            await AskAsync(kernel, new SliceRequest(size, 25, Priority: priority), $"ask {kernel.KernelId} {size / GiB} GiB {priority}");
        }

        private async Task AskAsync(KernelStateMachine kernel, SliceRequest request, string step)
        {
            _lastRequest[kernel.KernelId] = request;
            _asks[kernel.KernelId] = kernel.EnsureAttachedAsync(request, "test", CancellationToken.None);
            await CheckAsync(step);
        }

        /// <summary>The user releases a slice, or interrupts a cell that waits in the queue.</summary>
        private async Task ReleaseAsync(int p)
        {
            var holding = Kernels().Where(k => k.Status.State is KernelState.Attached or KernelState.Queued).ToList();
            if (holding.Count == 0)
            {
                return;
            }

            var kernel = holding[p % holding.Count];
            await kernel.ReleaseAsync("the user released it", CancellationToken.None).WaitAsync(QuietWithin);
            await CheckAsync($"release {kernel.KernelId}");
        }

        /// <summary>
        /// An attached kernel stays idle until its idle timeout: the idle policy suspends its process to host memory
        /// (and any other kernel idle as long), through the real suspend path.
        /// </summary>
        private async Task SuspendAsync(int p)
        {
            var attached = Kernels().Where(k => k.Status is { State: KernelState.Attached, ReleaseAt: not null }).ToList();
            if (attached.Count == 0)
            {
                return;
            }

            var kernel = attached[p % attached.Count];
            var status = kernel.Status;
            // Only an agent that holds the binding can suspend its process (one that lost its ledger answers 404: released).
            var suspendable = _agents.IsAlive(status.Attachment!.NodeId) && !_agents.IsDying(status.Attachment.NodeId) && _agents.Ledger(status.Attachment.NodeId).Any(b => b.LeaseId == status.Attachment.LeaseId);
            BeatLiveAgents();
            Advance(status.ReleaseAt!.Value - _now);
            await CheckAsync($"{kernel.KernelId} idle until {status.ReleaseAt:HH:mm:ss}");
            var after = kernel.Status;
            if (suspendable)
            {
                Assert.True(after.State == KernelState.Suspended, $"{kernel.KernelId} is {after.State} after its idle timeout on a live node: {after.Reason}");
                Assert.Contains(PidOf(kernel.KernelId), _agents.SuspendedProcesses(status.Attachment.NodeId));
            }
        }

        /// <summary>A suspended kernel's next GPU cell: it resumes, or waits in the queue for room on its node.</summary>
        private async Task ResumeAsync(int p)
        {
            var suspended = Kernels().Where(k => k.Status.State == KernelState.Suspended).ToList();
            if (suspended.Count == 0)
            {
                await AskAsync(p, PriorityClass.Interactive);
                return;
            }

            var kernel = suspended[p % suspended.Count];
            var size = (p / 7 % 3) switch { 0 => 10 * GiB, 1 => 40 * GiB, _ => 80 * GiB };
            var left = kernel.Suspension!;
            var onGpu = _broker.Leases.Snapshot().Where(l => l.NodeId == left.NodeId && l.Gpu.Index == left.GpuIndex).ToList();
            var roomOnItsGpu = onGpu.Sum(l => l.MemoryMiB) + size <= Pool[left.NodeId].Single(g => g.Index == left.GpuIndex).MemoryTotalMiB
                && onGpu.Sum(l => l.ComputePercent) + 25 <= 100 && _broker.Leases.Scheduler.WaiterCount == 0;
            await AskAsync(kernel, new SliceRequest(size, 25), $"resume {kernel.KernelId} {size / GiB} GiB");
            if (roomOnItsGpu && kernel.Status is { State: KernelState.Attached, Attachment: { } attachment })
            {
                // Same node always (checked after every step); the same GPU whenever it has room.
                Assert.True(attachment.GpuIndex == left.GpuIndex, $"{kernel.KernelId} left GPU {left.GpuIndex} on {left.NodeId}, which has room, but resumed on GPU {attachment.GpuIndex}");
            }
        }

        private async Task AgentDiesOrReturnsAsync(int p)
        {
            var node = p % 2 == 0 ? "node-a" : "node-b";
            if (_agents.IsAlive(node))
            {
                switch (p / 2 % 3)
                {
                    case 0:
                        _agents.Kill(node);
                        await CheckAsync($"{node} dies");
                        break;
                    default:
                        // Mid-call: the next bind, unbind or suspend takes effect, and the agent dies with it.
                        var loseAnswer = p / 2 % 3 == 2;
                        _agents.KillWithNextRequest(node, loseAnswer);
                        await CheckAsync($"{node} dies with its next request{(loseAnswer ? ", its answer lost" : "")}");
                        break;
                }

                return;
            }

            var forget = p / 2 % 2 == 0;
            _agents.Revive(node, forget);
            Beat(node);
            await CheckAsync($"{node} returns {(forget ? "empty" : "with its ledger")}");
        }

        /// <summary>Time passes in steps shorter than the stale limit; live agents send heartbeats, the reaper sweeps.</summary>
        private async Task TimePassesAsync(TimeSpan total)
        {
            for (var left = total; left > TimeSpan.Zero; left -= TimeSpan.FromSeconds(5))
            {
                Advance(left < TimeSpan.FromSeconds(5) ? left : TimeSpan.FromSeconds(5));
                await QuietAsync();
                BeatLiveAgents();
                await QuietAsync();
                foreach (var dead in _broker.Reaper.Sweep().Nodes)
                {
                    Assert.False(_agents.IsAlive(dead.NodeId), $"{dead.NodeId} was declared dead while its agent sent heartbeats");
                    foreach (var lease in dead.Leases)
                    {
                        _reclaimed.Add(lease.LeaseId);
                    }
                }

                await CheckAsync($"{_now:HH:mm:ss}");
            }
        }

        /// <summary>
        /// The broker is killed and started again over the same database: the running one is abandoned (its clock
        /// never moves again, nothing of it is disposed), the new one loads its state, and the agents' heartbeats
        /// reconcile it. A request that waited in the queue is gone with the process: its kernel comes back Detached,
        /// or Suspended when it waited to resume, and is not in the new queue; the cell that waited asks again.
        /// </summary>
        private async Task RestartAsync()
        {
            var waited = Kernels().Where(k => k.Status.State == KernelState.Queued).Select(k => k.KernelId).ToList();
            var attached = Kernels().Where(k => k.Status.State == KernelState.Attached).ToDictionary(k => k.KernelId, k => k.Status.Attachment!.LeaseId, StringComparer.Ordinal);
            var suspended = Kernels().Where(k => k.Suspension is not null).ToDictionary(k => k.KernelId, k => k.Suspension!, StringComparer.Ordinal);
            var before = _broker.Leases.Snapshot().ToDictionary(l => l.LeaseId, StringComparer.Ordinal);

            _broker = Start();
            _asks.Clear();

            var loaded = _broker.Leases.Snapshot();
            Assert.Equal(before.Keys.Order(StringComparer.Ordinal), loaded.Select(l => l.LeaseId).Order(StringComparer.Ordinal));
            Assert.All(loaded, l => Assert.Equal((before[l.LeaseId].Epoch, before[l.LeaseId].NodeId, before[l.LeaseId].Gpu.Index, before[l.LeaseId].MemoryMiB), (l.Epoch, l.NodeId, l.Gpu.Index, l.MemoryMiB)));
            Assert.True(_broker.Leases.LastEpoch >= _lastEpoch, $"the epoch went back from {_lastEpoch} to {_broker.Leases.LastEpoch} across a restart");
            Assert.Equal(0, _broker.Leases.Scheduler.WaiterCount);
            foreach (var kernel in Kernels())
            {
                var status = kernel.Status;
                if (attached.TryGetValue(kernel.KernelId, out var leaseId))
                {
                    Assert.Equal((KernelState.Attached, leaseId), (status.State, status.Attachment?.LeaseId));
                }
                else if (suspended.TryGetValue(kernel.KernelId, out var suspension))
                {
                    Assert.Equal(KernelState.Suspended, status.State);
                    Assert.Equal(suspension, kernel.Suspension);
                }
                else
                {
                    Assert.Equal(KernelState.Detached, status.State);
                }
            }

            foreach (var node in Pool.Keys.Where(_agents.IsAlive))
            {
                Beat(node);
            }

            await CheckAsync("broker restarts");
            foreach (var id in waited)
            {
                var kernel = Kernel(id);
                Assert.Equal(suspended.ContainsKey(id) ? KernelState.Suspended : KernelState.Detached, kernel.Status.State);
                await AskAsync(kernel, _lastRequest[id], $"{id} asks again after the restart{(suspended.ContainsKey(id) ? " (resume)" : "")}");
            }
        }

        /// <summary>Every agent back; slices released one by one until nobody waits; then every suspended kernel resumes.</summary>
        private async Task FinishAsync()
        {
            foreach (var node in Pool.Keys.Where(n => !_agents.IsAlive(n) || _agents.IsDying(n)))
            {
                _agents.Revive(node, forgetLedger: false);
                Beat(node);
                await CheckAsync($"{node} returns for the end");
            }

            var waiting = Kernels().Where(k => k.Status.State == KernelState.Queued).Select(k => k.KernelId).ToList();
            for (var rounds = 0; Kernels().Any(k => k.Status.State == KernelState.Queued); rounds++)
            {
                Assert.True(rounds < 1000, "the drain does not end");
                var next = Kernels().Where(k => k.Status.State == KernelState.Attached).OrderBy(k => k.Status.Since).ThenBy(k => k.KernelId, StringComparer.Ordinal).FirstOrDefault();
                Assert.True(next is not null, $"kernels wait, but no slice is held that could be released; {Describe()}");
                await next.ReleaseAsync("drained at the end", CancellationToken.None).WaitAsync(QuietWithin);
                await CheckAsync($"drain {next.KernelId}");
            }

            Assert.Equal(0, _broker.Leases.Scheduler.WaiterCount);
            foreach (var id in waiting)
            {
                var outcome = await _asks[id].WaitAsync(QuietWithin);
                Assert.True(outcome.Attachment is not null, $"{id} waited but was not served: {outcome.Error}");
            }

            // An empty pool, then each suspended kernel's next cell: it must resume at once, on the node that holds its process.
            foreach (var kernel in Kernels().Where(k => k.Status.State == KernelState.Attached).ToList())
            {
                await kernel.ReleaseAsync("emptied at the end", CancellationToken.None).WaitAsync(QuietWithin);
                await CheckAsync($"empty {kernel.KernelId}");
            }

            foreach (var kernel in Kernels().Where(k => k.Status.State == KernelState.Suspended).ToList())
            {
                var suspension = kernel.Suspension!;
                var resumes = _agents.Resumes(PidOf(kernel.KernelId));
                await AskAsync(kernel, _lastRequest.TryGetValue(kernel.KernelId, out var asked) ? asked : new SliceRequest(10 * GiB, 25), $"final resume of {kernel.KernelId}");
                var status = kernel.Status;
                Assert.True(status.State == KernelState.Attached, $"{kernel.KernelId} did not resume in an empty pool: {status.State} ({status.Reason}); {Describe()}");
                Assert.Equal(suspension.NodeId, status.Attachment!.NodeId);
                Assert.Equal(resumes + 1, _agents.Resumes(PidOf(kernel.KernelId)));
                await kernel.ReleaseAsync("done", CancellationToken.None).WaitAsync(QuietWithin);
                await CheckAsync($"release {kernel.KernelId} after its resume");
            }

            Assert.Empty(_broker.Store.LoadSuspensions());
        }

        /// <summary>A broker over the database, wired as the service wires it, with its state restored; it has a clock of its own.</summary>
        private Broker Start()
        {
            var clock = new FakeTimeProvider(_now);
            var options = Options.Create(new BrokerOptions { IdleTimeout = IdleTimeout, NodeStaleAfter = StaleAfter, LeaseTtl = Ttl });
            var scheduling = Options.Create(new SchedulingOptions());
            var store = _db.Open();
            var nodes = new NodeRegistry(clock, options);
            var leases = new LeaseTable(nodes, clock, store, new PoolScheduler(scheduling.Value.ToSettings(), clock));
            var http = new HttpClient(_agents, disposeHandler: false);
            var agents = new AgentClient(http);
            var binder = new GpuBinder(leases, agents, clock, NullLogger<GpuBinder>.Instance);
            var kernels = new KernelRegistry(binder, new RecordingEventPublisher(), clock, options, NullLoggerFactory.Instance, store, scheduling, leases);
            var reaper = new DeadNodeReaper(leases, kernels, clock, options, NullLogger<DeadNodeReaper>.Instance);
            _disposables.Add(http);
            _disposables.Add(reaper);
            new BrokerStateRestorer(store, leases, kernels, NullLogger<BrokerStateRestorer>.Instance).StartAsync(CancellationToken.None).GetAwaiter().GetResult();
            return new Broker(clock, store, nodes, leases, kernels, agents, reaper);
        }

        private void Advance(TimeSpan by)
        {
            _now += by;
            _broker.Clock.Advance(by);
        }

        private void BeatLiveAgents()
        {
            foreach (var node in Pool.Keys.Where(_agents.IsAlive))
            {
                Beat(node);
            }
        }

        /// <summary>The agent's heartbeat through the broker's endpoint, with what its ledger holds.</summary>
        private void Beat(string nodeId)
        {
            var heartbeat = Heartbeat(nodeId, Pool[nodeId], _agents.Ledger(nodeId));
            var result = NodesApi.Heartbeat(nodeId, heartbeat, _broker.Nodes, _broker.Leases, _broker.Kernels, _broker.Agents, Service, NullLoggerFactory.Instance, CancellationToken.None);
            Assert.IsType<NoContent>(result.Result);
        }

        private IEnumerable<KernelStateMachine> Kernels() =>
            _owners.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => _broker.Kernels.Find(o.Key, o.Value) ?? throw new InvalidOperationException($"{o.Key} is unknown"));

        private KernelStateMachine Kernel(string id) => _broker.Kernels.Find(id, _owners[id])!;

        /// <summary>
        /// Waits until nothing moves: no agent call in flight, no bind pending, no kernel between two states, every queued
        /// kernel in the scheduler's queue, and no lease a live agent already let go of still waiting to be removed.
        /// </summary>
        private async Task QuietAsync()
        {
            var clock = Stopwatch.StartNew();
            for (var spins = 0; !Quiet(); spins++)
            {
                if (clock.Elapsed > QuietWithin)
                {
                    Assert.Fail($"the broker did not settle within {QuietWithin.TotalSeconds} s; {Describe()}");
                }

                if (spins < 50)
                {
                    await Task.Yield();
                }
                else
                {
                    await Task.Delay(1);
                }
            }
        }

        private bool Quiet()
        {
            if (_agents.InFlight > 0)
            {
                return false;
            }

            foreach (var lease in _broker.Leases.Snapshot())
            {
                if (lease.Status == LeaseStatus.Binding
                    || (lease.Status == LeaseStatus.Releasing && _agents.IsAlive(lease.NodeId) && _agents.Ledger(lease.NodeId).All(b => b.LeaseId != lease.LeaseId)))
                {
                    return false;
                }
            }

            foreach (var kernel in Kernels())
            {
                switch (kernel.Status.State)
                {
                    case KernelState.Attaching or KernelState.Releasing or KernelState.Suspending or KernelState.Resuming:
                    case KernelState.Queued when !_broker.Leases.Scheduler.IsWaiting(kernel.KernelId):
                        return false;
                }
            }

            return _agents.InFlight == 0;
        }

        private async Task CheckAsync(string step)
        {
            await QuietAsync();
            _log.Add(step);
            try
            {
                Check();
            }
            catch (Exception ex) when (ex is Xunit.Sdk.XunitException)
            {
                throw new Xunit.Sdk.XunitException($"after step {_log.Count} ({step}): {ex.Message}\nsteps: {string.Join(" | ", _log)}\n{Describe()}");
            }
        }

        private void Check()
        {
            var leases = _broker.Leases.Snapshot();
            var byId = leases.ToDictionary(l => l.LeaseId, StringComparer.Ordinal);
            Assert.Empty(_agents.Violations);

            // Capacity: what the table holds on each GPU fits the GPU.
            foreach (var gpu in leases.GroupBy(l => (l.NodeId, l.Gpu.Index)))
            {
                var total = Pool[gpu.Key.NodeId].Single(g => g.Index == gpu.Key.Index).MemoryTotalMiB;
                Assert.True(gpu.Sum(l => l.MemoryMiB) <= total, $"{gpu.Key} holds {gpu.Sum(l => l.MemoryMiB)} MiB of {total}");
                Assert.True(gpu.Sum(l => l.ComputePercent) <= 100, $"{gpu.Key} holds {gpu.Sum(l => l.ComputePercent)}% compute");
            }

            // One count of capacity: the table, the scheduler and the store agree.
            Assert.Equal(byId.Keys.Order(StringComparer.Ordinal), _broker.Leases.Scheduler.Allocations().Select(a => a.AllocationId).Order(StringComparer.Ordinal));
            var stored = _broker.Store.Load().Leases;
            Assert.Equal(
                leases.Select(l => (l.LeaseId, l.Epoch, l.Status)).OrderBy(l => l.LeaseId, StringComparer.Ordinal),
                stored.Select(l => (l.LeaseId, l.Epoch, l.Status)).OrderBy(l => l.LeaseId, StringComparer.Ordinal));

            // Kernels and leases: a bound lease is its attached kernel's, a suspended kernel holds none.
            var kernels = Kernels().ToList();
            foreach (var bound in leases.Where(l => l.Status == LeaseStatus.Bound).GroupBy(l => l.KernelId))
            {
                Assert.True(bound.Count() == 1, $"{bound.Key} holds {bound.Count()} bound leases");
                var status = Kernel(bound.Key).Status;
                Assert.True(status.State == KernelState.Attached && status.Attachment!.LeaseId == bound.Single().LeaseId,
                    $"lease {bound.Single().LeaseId} is bound for {bound.Key}, which is {status.State} ({status.Attachment?.LeaseId}): {status.Reason}");
            }

            var suspensions = _broker.Store.LoadSuspensions().ToDictionary(s => s.KernelId, s => s.Process, StringComparer.Ordinal);
            foreach (var kernel in kernels)
            {
                var status = kernel.Status;
                if (status.State == KernelState.Attached)
                {
                    var attachment = status.Attachment!;
                    Assert.True(byId.TryGetValue(attachment.LeaseId, out var lease) && lease.Status == LeaseStatus.Bound && lease.KernelId == kernel.KernelId,
                        $"{kernel.KernelId} is attached with {attachment.LeaseId}, which the table does not hold bound for it");
                    Assert.Equal((lease.NodeId, lease.Gpu.Index, lease.MemoryMiB), (attachment.NodeId, attachment.GpuIndex, attachment.SliceMemoryMiB));
                    if (_suspendedBefore.TryGetValue(kernel.KernelId, out var was) && kernel.Suspension is null)
                    {
                        Assert.True(was.NodeId == attachment.NodeId, $"{kernel.KernelId} was suspended on {was.NodeId} but resumed on {attachment.NodeId}");
                    }
                }

                if (kernel.Suspension is { } suspension)
                {
                    Assert.True(status.State is KernelState.Suspended or KernelState.Queued, $"{kernel.KernelId} is {status.State} with a suspended process");
                    Assert.Null(status.Attachment);
                    Assert.DoesNotContain(leases, l => l.KernelId == kernel.KernelId && l.Status != LeaseStatus.Releasing);
                    Assert.True(suspensions.TryGetValue(kernel.KernelId, out var recorded) && recorded == suspension, $"{kernel.KernelId} is suspended but the store says {recorded}");
                    Assert.Contains(suspension.Pid, _agents.SuspendedProcesses(suspension.NodeId));
                }
                else
                {
                    Assert.True(status.State != KernelState.Suspended, $"{kernel.KernelId} is Suspended without a process");
                    Assert.False(suspensions.ContainsKey(kernel.KernelId), $"the store keeps {kernel.KernelId} suspended, but it is {status.State}");
                }
            }

            _suspendedBefore = kernels.Where(k => k.Suspension is not null).ToDictionary(k => k.KernelId, k => k.Suspension!, StringComparer.Ordinal);

            // The queue is exactly the queued kernels.
            var queued = kernels.Where(k => k.Status.State == KernelState.Queued).Select(k => k.KernelId).ToList();
            Assert.All(queued, id => Assert.True(_broker.Leases.Scheduler.IsWaiting(id), $"{id} is Queued but not in the queue"));
            Assert.Equal(queued.Count, _broker.Leases.Scheduler.WaiterCount);

            // Every lease is live, released (its agent let it go) or reclaimed from a dead node.
            foreach (var (id, gone) in _previous.Where(p => !byId.ContainsKey(p.Key)))
            {
                Assert.True(!_agents.Ledger(gone.NodeId).Any(b => b.LeaseId == id) || _reclaimed.Contains(id),
                    $"lease {id} left the table while {gone.NodeId} still holds it, and it was not reclaimed");
            }

            // Nothing an agent holds is unknown to the broker, unless it was reclaimed while the agent was dead.
            foreach (var node in Pool.Keys)
            {
                var alive = _agents.IsAlive(node);
                foreach (var binding in _agents.Ledger(node))
                {
                    if (byId.TryGetValue(binding.LeaseId, out var lease))
                    {
                        Assert.Equal(binding.Epoch, lease.Epoch);
                    }
                    else
                    {
                        Assert.True(!alive && _reclaimed.Contains(binding.LeaseId), $"{node} holds {binding.LeaseId}, which the broker does not know");
                    }
                }
            }

            // Epochs only grow: a new lease out-ranks every lease before it, across restarts too.
            foreach (var lease in leases.Where(l => !_seen.Contains(l.LeaseId)).OrderBy(l => l.Epoch))
            {
                Assert.True(lease.Epoch > _lastEpoch, $"new lease {lease.LeaseId} has epoch {lease.Epoch}, not above {_lastEpoch}");
                _lastEpoch = lease.Epoch;
                _seen.Add(lease.LeaseId);
            }

            Assert.True(_broker.Leases.LastEpoch >= _lastEpoch);
            _lastEpoch = _broker.Leases.LastEpoch;
            _previous = byId;
        }

        private string Describe() =>
            "kernels: " + string.Join(", ", Kernels().Select(k => $"{k.KernelId}={k.Status.State} ({k.Status.Reason})")) +
            "; leases: " + string.Join(", ", _broker.Leases.Snapshot().Select(l => $"{l.LeaseId[..12]} {l.KernelId} {l.NodeId}/{l.Gpu.Index} {l.MemoryMiB / GiB} GiB {l.Status}")) +
            "; agents: " + string.Join(", ", Pool.Keys.Select(n => $"{n} {(_agents.IsAlive(n) ? "up" : "down")} [{string.Join(" ", _agents.Ledger(n).Select(b => b.LeaseId[..12]))}]")) +
            $"; in flight: {_agents.InFlight}";
    }

    private static int PidOf(string kernelId) => 1000 + int.Parse(kernelId.AsSpan(1), CultureInfo.InvariantCulture);

    /// <summary>One step of a sequence: what happens (0-99, weighted in <see cref="Run.ExecuteAsync"/>) and a number that picks whom and how much.</summary>
    public readonly record struct PoolStep(int Kind, int P);

    /// <summary>Sequences of steps; a failing one shrinks by dropping halves, then single steps.</summary>
    public static class SuspendRestartSteps
    {
        public static Arbitrary<PoolStep[]> Steps() =>
            Arb.From(
                (from kind in Gen.Choose(0, 99) from p in Gen.Choose(0, 1 << 20) select new PoolStep(kind, p)).ArrayOf(),
                Shrink);

        private static IEnumerable<PoolStep[]> Shrink(PoolStep[] steps)
        {
            if (steps.Length > 1)
            {
                yield return steps[..(steps.Length / 2)];
                yield return steps[(steps.Length / 2)..];
            }

            for (var i = 0; i < steps.Length; i++)
            {
                yield return [.. steps[..i], .. steps[(i + 1)..]];
            }
        }
    }

    private sealed record Broker(
        FakeTimeProvider Clock, SqlLeaseStore Store, NodeRegistry Nodes, LeaseTable Leases, KernelRegistry Kernels, AgentClient Agents, DeadNodeReaper Reaper);
}
