using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Threading.Channels;
using Attach.Broker.Apis;
using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Attach.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Pool;

/// <summary>
/// A broker that restarted without its state hears from an agent that still holds bindings: the heartbeat
/// endpoint, the lease table, the real binder and the kernel registry together, with a fake agent and clock.
/// </summary>
public sealed class BrokerRestartReconcileTests : IDisposable
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);
    private static readonly GpuInfo A100 = Gpu(0, 80);
    private static readonly ClaimsPrincipal Service = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, AttachClaims.ServiceUser)], "test"));

    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly FakeAgent _agent = new();
    private readonly HttpClient _http;
    private readonly NodeRegistry _nodes;
    private readonly LeaseTable _leases;
    private readonly AgentClient _agents;
    private readonly RecordingEventPublisher _events = new();
    private readonly KernelRegistry _kernels;

    public BrokerRestartReconcileTests()
    {
        var options = Options.Create(new BrokerOptions { IdleTimeout = IdleTimeout });
        _nodes = new NodeRegistry(_time, options);
        _leases = new LeaseTable(_nodes, _time);
        _http = new HttpClient(_agent);
        _agents = new AgentClient(_http);
        var binder = new GpuBinder(_leases, _agents, _time, NullLogger<GpuBinder>.Instance);
        _kernels = new KernelRegistry(binder, _events, _time, options, NullLoggerFactory.Instance);
    }

    public void Dispose()
    {
        _kernels.Dispose();
        _http.Dispose();
        _agent.Dispose();
    }

    private static BindingInfo HeldBinding(string owner = "ada", string kernelId = "kernel-1") =>
        Binding("lease-before-restart", 5, A100, 20 * GiB, 25, kernelId, owner);

    private Results<NoContent, ForbidHttpResult, ValidationProblem> Beat(params BindingInfo[] bindings) =>
        NodesApi.Heartbeat("node-a", Heartbeat("node-a", [A100], bindings), _nodes, _leases, _kernels, _agents, Service, NullLoggerFactory.Instance, CancellationToken.None);

    [Fact]
    public async Task Heartbeat_BindingTheBrokerLost_TakesThePoolAndAttachesItsKernelUntilTheIdlePolicyReleasesIt()
    {
        Assert.IsType<NoContent>(Beat(HeldBinding()).Result);

        var gpu = Assert.Single(Assert.Single(PoolApi.Get(_nodes, _leases, Service, CancellationToken.None).Value!.Nodes).Gpus);
        Assert.Equal(20 * GiB, gpu.AllocatedMiB);
        var shown = Assert.Single(gpu.Leases);
        Assert.Equal(("lease-before-restart", "kernel-1", "ada"), (shown.LeaseId, shown.KernelId, shown.Owner));
        var status = _kernels.Find("kernel-1", "ada")!.Status;
        Assert.Equal(KernelState.Attached, status.State);
        Assert.Equal(("lease-before-restart", "node-a", 0, 20 * GiB), (status.Attachment!.LeaseId, status.Attachment.NodeId, status.Attachment.GpuIndex, status.Attachment.SliceMemoryMiB));
        Assert.Equal(Epoch + IdleTimeout, status.ReleaseAt);
        Assert.Contains("restored", Assert.Single(_events.Events).Reason, StringComparison.Ordinal);
        Assert.False(_agent.AnyRequest);

        _time.Advance(IdleTimeout);
        await _events.WaitForAsync(KernelState.Detached);

        // The idle policy asks the agent to suspend first; with no process known for the lease, it releases.
        Assert.Equal("/api/v1/bindings/lease-before-restart/suspend", (await _agent.NextRequestAsync(HttpMethod.Post)).RequestUri!.PathAndQuery);
        var unbind = await _agent.NextRequestAsync(HttpMethod.Delete);
        Assert.Equal((HttpMethod.Delete, "/api/v1/bindings/lease-before-restart?epoch=5"), (unbind.Method, unbind.RequestUri!.PathAndQuery));
        Assert.Empty(_leases.Snapshot());
    }

    [Fact]
    public async Task Heartbeat_AdoptedBinding_IsNeverHandedOutTwice()
    {
        Beat(HeldBinding());
        var other = _kernels.GetOrAdd("kernel-2", "grace")!;

        var tooBig = other.EnsureAttachedAsync(new SliceRequest(70 * GiB, 50), "cuda-call", CancellationToken.None);
        await _events.WaitForAsync(KernelState.Queued);
        Assert.True(await other.CancelQueuedAsync("the cell was interrupted"));
        var fits = await other.EnsureAttachedAsync(new SliceRequest(60 * GiB, 75), "cuda-call", CancellationToken.None);

        // 70 GiB does not fit beside the adopted 20 GiB: it waits in the queue rather than being handed the same memory.
        Assert.Null((await tooBig).Attachment);
        Assert.Null(fits.Error);
        Assert.Equal(80 * GiB, _leases.Snapshot().Sum(l => l.MemoryMiB));
        Assert.Equal(100, _leases.Snapshot().Sum(l => l.ComputePercent));
        // The next heartbeat reports both bindings; the adopted one is not adopted twice.
        var bound = Assert.Single(_agent.Binds);
        Beat(HeldBinding(), Binding(bound.LeaseId, bound.Epoch, A100, bound.MemoryMiB, bound.ComputePercent, "kernel-2", "grace"));
        Assert.Equal(2, _leases.Snapshot().Count);
        Assert.True(bound.Epoch > 5, $"epoch {bound.Epoch}: a new lease must out-rank the adopted one's epoch");
    }

    [Fact]
    public async Task Heartbeat_KernelAlreadyAttachedElsewhere_UnbindsTheLeftoverAndKeepsTheKernelsSlice()
    {
        // After the restart the user's next cell attached before the agent's first heartbeat arrived.
        Beat();
        var kernel = _kernels.GetOrAdd("kernel-1", "ada")!;
        var attached = await kernel.EnsureAttachedAsync(new SliceRequest(10 * GiB, 10), "cuda-call", CancellationToken.None);

        Beat(HeldBinding(), Binding(attached.Attachment!.LeaseId, _agent.Binds[0].Epoch, A100, 10 * GiB, 10, "kernel-1", "ada"));

        var unbind = await _agent.NextRequestAsync(HttpMethod.Delete);
        Assert.Equal("/api/v1/bindings/lease-before-restart?epoch=5", unbind.RequestUri!.PathAndQuery);
        Assert.Equal(attached.Attachment, kernel.Status.Attachment);
        await WaitUntilAsync(() => _leases.Snapshot().Count == 1);
        Assert.Equal(attached.Attachment.LeaseId, Assert.Single(_leases.Snapshot()).LeaseId);
    }

    [Fact]
    public async Task Heartbeat_BindingOfAnotherOwnersKernel_IsUnboundNotAdopted()
    {
        _kernels.GetOrAdd("kernel-1", "grace");

        Beat(HeldBinding(owner: "ada"));

        Assert.Equal("/api/v1/bindings/lease-before-restart?epoch=5", (await _agent.NextRequestAsync(HttpMethod.Delete)).RequestUri!.PathAndQuery);
        Assert.Equal(KernelState.Detached, _kernels.Find("kernel-1", "grace")!.Status.State);
        Assert.Null(_kernels.Find("kernel-1", "ada"));
        await WaitUntilAsync(() => _leases.Snapshot().Count == 0);
    }

    [Fact]
    public void Heartbeat_BindingOfAKnownDetachedKernel_AttachesThatKernel()
    {
        var kernel = _kernels.GetOrAdd("kernel-1", "ada")!;

        Beat(HeldBinding());

        Assert.Equal(("lease-before-restart", KernelState.Attached), (kernel.Status.Attachment?.LeaseId, kernel.Status.State));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Event);
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>An agent's bind/unbind API: binds succeed, unbinds answer 204; every bind and unbind is recorded.</summary>
    private sealed class FakeAgent : HttpMessageHandler
    {
        private readonly Channel<HttpRequestMessage> _requests = Channel.CreateUnbounded<HttpRequestMessage>();
        private readonly List<BindRequest> _binds = [];

        public IReadOnlyList<BindRequest> Binds
        {
            get
            {
                lock (_binds)
                {
                    return [.. _binds];
                }
            }
        }

        public bool AnyRequest => _requests.Reader.TryPeek(out _);

        public async Task<HttpRequestMessage> NextRequestAsync(HttpMethod? method = null)
        {
            using var timeout = new CancellationTokenSource(TestTimeouts.Event);
            while (true)
            {
                var request = await _requests.Reader.ReadAsync(timeout.Token);
                if (method is null || request.Method == method)
                {
                    return request;
                }
            }
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            HttpResponseMessage response;
            if (request.Method == HttpMethod.Get)
            {
                // The broker's warm-up read of a newly registered agent's ledger: not a bind or an unbind.
                return new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = JsonContent.Create(Array.Empty<BindingInfo>()) };
            }

            if (request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath.EndsWith("/suspend", StringComparison.Ordinal))
            {
                // As the agent answers when it knows no process behind the lease.
                response = new HttpResponseMessage(HttpStatusCode.Conflict)
                {
                    Content = JsonContent.Create(new { title = "No process to suspend", status = 409, detail = "No process is known for the lease." }),
                };
            }
            else if (request.Method == HttpMethod.Post)
            {
                var bind = (await request.Content!.ReadFromJsonAsync<BindRequest>(cancellationToken))!;
                lock (_binds)
                {
                    _binds.Add(bind);
                }

                var binding = new BindingInfo(bind.LeaseId, bind.Epoch, bind.KernelId, A100, bind.MemoryMiB, bind.ComputePercent, new Dictionary<string, string>(), Epoch, bind.Owner);
                response = new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(binding) };
            }
            else
            {
                response = new HttpResponseMessage(HttpStatusCode.NoContent);
            }

            await _requests.Writer.WriteAsync(request, cancellationToken);
            return response;
        }
    }
}
