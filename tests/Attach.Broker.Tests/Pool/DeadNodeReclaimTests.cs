using System.Security.Claims;
using Attach.Broker.Apis;
using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Attach.ServiceDefaults.Security;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Pool;

/// <summary>
/// An agent that stops sending heartbeats past the lease TTL: its leases are reclaimed, its kernels fail with a reason,
/// nothing is placed on it, and it rejoins with its ledger reconciled when it is heard from again. The lease table,
/// the real binder, the kernel registry and the reaper together, with an agent that accepts every call and a fake clock.
/// </summary>
public sealed class DeadNodeReclaimTests : IAsyncDisposable
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(2);
    private static readonly GpuInfo GpuA = Gpu(0, 80);
    private static readonly GpuInfo GpuB = Gpu(0, 80, "H100 80GB");
    private static readonly SliceRequest Whole = new(80 * GiB, 100);
    private static readonly ClaimsPrincipal Service = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, AttachClaims.ServiceUser)], "test"));

    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly NodeRegistry _nodes;
    private readonly LeaseTable _leases;
    private readonly HttpClient _http = new(new AcceptingAgent());
    private readonly AgentClient _agents;
    private readonly RecordingEventPublisher _events = new();
    private readonly KernelRegistry _kernels;
    private readonly DeadNodeReaper _reaper;

    public DeadNodeReclaimTests()
    {
        var options = Options.Create(new BrokerOptions { NodeStaleAfter = StaleAfter, LeaseTtl = Ttl, IdleTimeout = TimeSpan.FromHours(1) });
        _nodes = new NodeRegistry(_time, options);
        _leases = new LeaseTable(_nodes, _time);
        _agents = new AgentClient(_http);
        var binder = new GpuBinder(_leases, _agents, _time, NullLogger<GpuBinder>.Instance);
        _kernels = new KernelRegistry(binder, _events, _time, options, NullLoggerFactory.Instance);
        _reaper = new DeadNodeReaper(_leases, _kernels, _time, options, NullLogger<DeadNodeReaper>.Instance);
        Beat("node-a", GpuA);
    }

    public async ValueTask DisposeAsync()
    {
        await _reaper.StopAsync(CancellationToken.None);
        _reaper.Dispose();
        _kernels.Dispose();
        _http.Dispose();
    }

    private void Beat(string nodeId, GpuInfo gpu, params BindingInfo[] bindings) =>
        NodesApi.Heartbeat(nodeId, Heartbeat(nodeId, [gpu], bindings), _nodes, _leases, _kernels, _agents, Service, NullLoggerFactory.Instance, CancellationToken.None);

    private async Task<AttachmentInfo> AttachAsync(string kernelId, string user)
    {
        var outcome = await _kernels.GetOrAdd(kernelId, user)!.EnsureAttachedAsync(Whole, "test", CancellationToken.None).WaitAsync(TestTimeouts.Event);
        return outcome.Attachment ?? throw new InvalidOperationException(outcome.Error);
    }

    [Fact]
    public async Task Reaper_AgentSilentPastTheTtl_FailsItsKernelWithWhatHappenedAndWhatToDo()
    {
        var attachment = await AttachAsync("kernel-1", "ada");
        await _reaper.StartAsync(CancellationToken.None);

        // The reaper's timer starts on its own thread: move the clock in steps until it has looked.
        var failing = _events.WaitForAsync(KernelState.Failed);
        while (!failing.IsCompleted)
        {
            _time.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(10);
        }

        var failed = await failing;

        Assert.Equal(("kernel-1", KernelState.Attached), (failed.KernelId, failed.From));
        Assert.Contains("node node-a stopped sending heartbeats", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("Run the cell again", failed.Reason, StringComparison.Ordinal);
        Assert.Null(failed.Status.Attachment);
        Assert.Empty(_leases.Snapshot());
        Assert.Equal(0, _leases.Scheduler.AllocationCount);
        Assert.True(_leases.IsDead("node-a"));
        Assert.Equal("node-a", attachment.NodeId);
    }

    [Fact]
    public async Task Sweep_AgentSilentForLessThanTheTtl_ReclaimsNothing()
    {
        await AttachAsync("kernel-1", "ada");

        _time.Advance(Ttl);
        var reclaim = _reaper.Sweep();

        Assert.Empty(reclaim.Nodes);
        Assert.Single(_leases.Snapshot());
        Assert.Equal(KernelState.Attached, _kernels.Find("kernel-1", "ada")!.Status.State);
    }

    [Fact]
    public async Task Sweep_OnlyTheSilentNodeIsReclaimed_AndNewWorkGoesToTheLiveOne()
    {
        await AttachAsync("kernel-1", "ada");
        Beat("node-b", GpuB);
        var onB = await AttachAsync("kernel-2", "grace");
        Assert.Equal("node-b", onB.NodeId);

        // node-b keeps beating; node-a falls silent.
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(30));
            Beat("node-b", GpuB, BindingOf(onB, GpuB, "kernel-2", "grace"));
        }

        var reclaim = _reaper.Sweep();
        await _kernels.Find("kernel-2", "grace")!.ReleaseAsync("test", CancellationToken.None);
        var again = await AttachAsync("kernel-1", "ada");

        var node = Assert.Single(reclaim.Nodes);
        Assert.Equal("node-a", node.NodeId);
        Assert.Equal("kernel-1", Assert.Single(node.Leases).KernelId);
        Assert.Equal("node-b", again.NodeId);
        Assert.DoesNotContain(_leases.Scheduler.Allocations(), a => a.NodeId == "node-a");
        Assert.Empty(_reaper.Sweep().Nodes);
    }

    [Fact]
    public async Task Heartbeat_DeadNodeComesBackHoldingTheSlice_ItsKernelGetsItBack()
    {
        var attachment = await AttachAsync("kernel-1", "ada");
        var lease = Assert.Single(_leases.Snapshot());
        _time.Advance(Ttl + TimeSpan.FromSeconds(1));
        _reaper.Sweep();
        Assert.Equal(KernelState.Failed, _kernels.Find("kernel-1", "ada")!.Status.State);

        Beat("node-a", GpuA, BindingOf(attachment, GpuA, "kernel-1", "ada", lease.Epoch));

        var status = _kernels.Find("kernel-1", "ada")!.Status;
        Assert.Equal(KernelState.Attached, status.State);
        Assert.Equal(attachment.LeaseId, status.Attachment!.LeaseId);
        Assert.Contains("restored", status.Reason, StringComparison.Ordinal);
        Assert.False(_leases.IsDead("node-a"));
        Assert.Equal(attachment.LeaseId, Assert.Single(_leases.Scheduler.Allocations()).AllocationId);
    }

    [Fact]
    public async Task Heartbeat_DeadNodeComesBackEmpty_TakesNewWorkAgain()
    {
        await AttachAsync("kernel-1", "ada");
        _time.Advance(Ttl + TimeSpan.FromSeconds(1));
        _reaper.Sweep();
        var refused = _leases.Reserve("kernel-2", "grace", Whole);
        Assert.NotNull(refused.Failure);

        Beat("node-a", GpuA);
        var placed = _leases.Reserve("kernel-2", "grace", Whole);

        Assert.Equal("node-a", placed.Lease!.NodeId);
    }

    [Fact]
    public async Task Sweep_WaiterForTheDeadNode_StaysQueuedAndIsServedWhenItComesBack()
    {
        await AttachAsync("kernel-1", "ada");
        var waiting = _leases.Reserve("kernel-2", "grace", Whole with { NodeId = "node-a" }, wait: true).Ticket!;
        _time.Advance(Ttl + TimeSpan.FromSeconds(1));

        _reaper.Sweep();
        Assert.False(waiting.Placed.IsCompleted);
        Assert.True(_leases.Scheduler.IsWaiting("kernel-2"));
        Beat("node-a", GpuA);

        var lease = await waiting.Placed.WaitAsync(TestTimeouts.Event);
        Assert.Equal(("kernel-2", "node-a"), (lease.KernelId, lease.NodeId));
    }

    [Fact]
    public void Sweep_LeaseOfANodeNeverHeardFromSinceStart_IsReclaimedAfterTheTtl()
    {
        var store = new Attach.Broker.Persistence.InMemoryLeaseStore();
        var lease = Lease("node-gone", GpuA, 20 * GiB);
        store.AddLease(lease);
        var leases = new LeaseTable(_nodes, _time, store);

        _time.Advance(Ttl + TimeSpan.FromSeconds(1));
        var reclaim = leases.ReclaimDeadNodes(Ttl);

        Assert.Equal(lease.LeaseId, Assert.Single(Assert.Single(reclaim.Nodes, n => n.NodeId == "node-gone").Leases).LeaseId);
        Assert.Empty(store.Load().Leases);
        Assert.Empty(leases.Snapshot());
    }

    [Fact]
    public async Task Bind_NodeDeclaredDeadWhileBinding_FailsTheAttachInsteadOfAttachingToAGoneLease()
    {
        using var held = new HeldAgent();
        using var http = new HttpClient(held);
        var binder = new GpuBinder(_leases, new AgentClient(http), _time, NullLogger<GpuBinder>.Instance);
        var bind = binder.BindAsync("kernel-1", "ada", Whole, _time.GetUtcNow(), null, CancellationToken.None);
        await held.Called.Task.WaitAsync(TestTimeouts.Event);

        _time.Advance(Ttl + TimeSpan.FromSeconds(1));
        _leases.ReclaimDeadNodes(Ttl);
        held.Answer.SetResult();

        var failure = await Assert.ThrowsAsync<AttachFailedException>(() => bind.WaitAsync(TestTimeouts.Event));
        Assert.Contains("stopped sending heartbeats", failure.Message, StringComparison.Ordinal);
        Assert.Empty(_leases.Snapshot());
    }

    private static BindingInfo BindingOf(AttachmentInfo attachment, GpuInfo gpu, string kernelId, string owner, long epoch = 1) =>
        new(attachment.LeaseId, epoch, kernelId, gpu, attachment.SliceMemoryMiB, 100, new Dictionary<string, string>(), Epoch, owner);

    /// <summary>An agent whose bind answers only when the test says so.</summary>
    private sealed class HeldAgent : HttpMessageHandler
    {
        private readonly AcceptingAgent _inner = new();
        private readonly HttpMessageInvoker _invoker;

        public HeldAgent() => _invoker = new HttpMessageInvoker(_inner);

        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Called.TrySetResult();
            await Answer.Task;
            return await _invoker.SendAsync(request, cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            _invoker.Dispose();
            base.Dispose(disposing);
        }
    }
}
