using System.Net;
using System.Net.Http.Json;
using Attach.Broker.Pool;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Pool;

/// <summary>The bind request the broker sends an agent names the MIG instance the scheduler chose, so the agent confines the process to it.</summary>
public sealed class GpuBinderMigTests : IDisposable
{
    private const string Mig0 = "MIG-a686709d-6dc2-542a-8851-0d2508448c10";
    private const string Mig1 = "MIG-53864714-0a66-5df2-9007-9268e30d9a72";
    private static readonly GpuInfo A100 = Gpu(0, 80);

    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly NodeRegistry _nodes;
    private readonly LeaseTable _leases;
    private readonly RecordingAgent _agent = new();
    private readonly HttpClient _http;
    private readonly GpuBinder _binder;

    public GpuBinderMigTests()
    {
        _nodes = new NodeRegistry(_time, Options.Create(new BrokerOptions()));
        _leases = new LeaseTable(_nodes, _time);
        _http = new HttpClient(_agent);
        _binder = new GpuBinder(_leases, new AgentClient(_http), _time, NullLogger<GpuBinder>.Instance);
    }

    public void Dispose()
    {
        _http.Dispose();
        _agent.Dispose();
    }

    private void Beat(IReadOnlyList<GpuMigLayout>? mig)
    {
        var heartbeat = Heartbeat("node-a", [A100]) with { Mig = mig };
        _nodes.Record(heartbeat);
        _leases.Reconcile(heartbeat);
    }

    [Fact]
    public async Task BindAsync_OnAGpuInMigMode_SendsTheChosenInstancesMigUuid()
    {
        Beat([new GpuMigLayout(0, [new(0, 1, 0, 14, 10 * GiB, 0, Mig0), new(1, 2, 0, 42, 40 * GiB, 0, Mig1)])]);

        await _binder.BindAsync("kernel-1", "ada", new SliceRequest(20 * GiB, 25), _time.GetUtcNow(), null, CancellationToken.None);

        var sent = Assert.Single(_agent.Binds);
        Assert.Equal((0, 40 * GiB, 100, Mig1), (sent.GpuIndex, sent.MemoryMiB, sent.ComputePercent, sent.MigUuid));
    }

    [Fact]
    public async Task BindAsync_OnAGpuNotInMigMode_SendsNoMigUuid()
    {
        Beat(null);

        await _binder.BindAsync("kernel-1", "ada", new SliceRequest(20 * GiB, 25), _time.GetUtcNow(), null, CancellationToken.None);

        Assert.Null(Assert.Single(_agent.Binds).MigUuid);
    }

    /// <summary>Accepts binds as an agent does, and keeps each request as the agent received it (JSON over HTTP).</summary>
    private sealed class RecordingAgent : HttpMessageHandler
    {
        public List<BindRequest> Binds { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var bind = (await request.Content!.ReadFromJsonAsync<BindRequest>(cancellationToken))!;
            Binds.Add(bind);
            var binding = new BindingInfo(bind.LeaseId, bind.Epoch, bind.KernelId, A100, bind.MemoryMiB, bind.ComputePercent, new Dictionary<string, string>(), Epoch, bind.Owner, bind.MigUuid);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(binding) };
        }
    }
}
