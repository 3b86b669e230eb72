using System.Net.Http.Headers;
using System.Net.Http.Json;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Metrics;
using Attach.Contracts.Http;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Pool;

/// <summary>
/// The whole broker, its reaper running as a hosted service on a fake clock: an agent that stops sending heartbeats
/// loses its leases, the kernel's status says why, and the agent's next heartbeat makes the node usable again.
/// </summary>
public sealed class DeadNodeReaperHostTests : IAsyncDisposable
{
    private const string InternalKey = "test-internal-key-0123456789abcdefghijkl";
    private const string GpuCell = "model = Net().cuda()\nmodel(x.cuda())";
    private static readonly GpuInfo[] Gpus = [Gpu(0, 80)];

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero));
    private readonly App _app;

    public DeadNodeReaperHostTests() => _app = new App(_time);

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task AgentFallsSilent_KernelFailsSayingWhy_AndTheNodeServesAgainAfterItsNextHeartbeat()
    {
        using var agent = Client(user: null);
        using var ada = Client("ada");
        (await agent.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", Gpus))).EnsureSuccessStatusCode();
        using (var first = await ada.PostAsJsonAsync("/api/v1/kernels/k-1/executions", new ExecutionRequest("msg-1", GpuCell)))
        {
            first.EnsureSuccessStatusCode();
            Assert.NotNull((await first.Content.ReadFromJsonAsync<ExecutionDecision>())!.Attachment);
        }

        var status = await StatusAsync(ada);
        for (var step = 0; status.State != KernelState.Failed && step < 200; step++)
        {
            _time.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(10);
            status = await StatusAsync(ada);
        }

        Assert.Equal(KernelState.Failed, status.State);
        Assert.Contains("node node-a stopped sending heartbeats", status.Reason, StringComparison.Ordinal);
        Assert.Empty(_app.Services.GetRequiredService<LeaseTable>().Snapshot());

        (await agent.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", Gpus))).EnsureSuccessStatusCode();
        using var again = await ada.PostAsJsonAsync("/api/v1/kernels/k-1/executions", new ExecutionRequest("msg-2", GpuCell));
        again.EnsureSuccessStatusCode();
        Assert.Equal("node-a", (await again.Content.ReadFromJsonAsync<ExecutionDecision>())!.Attachment!.NodeId);
    }

    private static async Task<KernelStatus> StatusAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<KernelStatus>("/api/v1/kernels/k-1"))!;

    private HttpClient Client(string? user)
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", InternalKey);
        if (user is not null)
        {
            client.DefaultRequestHeaders.Add(AttachHeaders.User, user);
        }

        return client;
    }

    private sealed class App(FakeTimeProvider time) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Attach:InternalKey", InternalKey);
            builder.UseSetting("Broker:Store:Kind", "memory");
            builder.UseSetting("Broker:IdleTimeout", "1.00:00:00");
            builder.UseSetting("Broker:LeaseTtl", "00:02:00");
            builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
            builder.ConfigureTestServices(services =>
            {
                services.AddSingleton<TimeProvider>(time);
                services.AddHttpClient(AgentClient.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => new FakeAgentHandler(Gpus, time));
            });
        }
    }
}
