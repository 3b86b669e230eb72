using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Http;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Metrics;

/// <summary>
/// <c>/metrics</c> on the whole broker, with its real binder and lease table; only the agent's HTTP answers are
/// faked (<see cref="FakeAgentHandler"/>) and time is a fake clock, so the GPU-seconds are exact.
/// </summary>
public sealed class MetricsApiTests : IAsyncLifetime
{
    private const string InternalKey = "test-internal-key-0123456789abcdefghijkl";
    private const string GpuCell = "model = Net().cuda()\nmodel(x.cuda())";
    private const long GiBBytes = 1024L * 1024 * 1024;
    private static readonly GpuInfo[] Gpus = [Gpu(0, 80), Gpu(1, 80)];

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero));
    private readonly App _app;

    public MetricsApiTests()
    {
        _app = new App(_time);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Scrape_WithoutTheInternalKey_Is401()
    {
        using var anonymous = _app.CreateClient();
        using var wrongKey = _app.CreateClient();
        wrongKey.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong-internal-key-0123456789abcdefghijk");

        using var none = await anonymous.GetAsync("/metrics");
        using var wrong = await wrongKey.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [Fact]
    public async Task Scrape_AfterTwoUsersAttachedAnHourAgo_ShowsTheirSlicesLatencyTransitionsAndGpuSeconds()
    {
        using var agent = Client(user: null);
        (await agent.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", Gpus))).EnsureSuccessStatusCode();
        var attachments = new List<AttachmentInfo>();
        foreach (var (user, kernel) in new[] { ("ada", "k-1"), ("grace", "k-2") })
        {
            using var client = Client(user);
            using var response = await client.PostAsJsonAsync($"/api/v1/kernels/{kernel}/executions", new ExecutionRequest($"msg-{kernel}", GpuCell));
            response.EnsureSuccessStatusCode();
            var decision = await response.Content.ReadFromJsonAsync<ExecutionDecision>().WaitAsync(TestTimeouts.Event);
            attachments.Add(decision!.Attachment!);
        }

        _time.Advance(TimeSpan.FromHours(1));
        using var scrape = await agent.GetAsync("/metrics");
        var text = await scrape.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.StartsWith("text/plain", scrape.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        var samples = Exposition.Parse(text);
        Assert.Equal(2, samples["""attach_kernel_transitions_total{from="Detached",to="Attaching"}"""]);
        Assert.Equal(2, samples["""attach_kernel_transitions_total{from="Attaching",to="Attached"}"""]);
        Assert.Equal(2, samples["attach_attach_latency_seconds_count"]);
        Assert.Equal(attachments.Sum(a => a.WaitSeconds), samples["attach_attach_latency_seconds_sum"], precision: 6);
        Assert.Equal(2, samples["""attach_attach_latency_seconds_bucket{le="+Inf"}"""]);
        Assert.Equal(0, samples["attach_queue_length"]);

        var perGpu = Gpus.Select(g => (
            Slices: samples[Series("attach_slices_allocated", g)],
            Allocated: samples[Series("attach_gpu_memory_allocated_bytes", g)],
            Total: samples[Series("attach_gpu_memory_total_bytes", g)])).ToList();
        Assert.Equal(2, perGpu.Sum(g => g.Slices));
        Assert.Equal(attachments.Sum(a => a.SliceMemoryMiB) * 1024 * 1024, perGpu.Sum(g => g.Allocated));
        Assert.All(perGpu, g => Assert.Equal(80 * GiBBytes, g.Total));

        // Two 20 GiB slices of 80 GiB GPUs for an hour: 2 × 3600 × 0.25. One GPU per user: 2 × 3600.
        Assert.Equal(1800, samples["attach_gpu_seconds_used_total"], precision: 6);
        Assert.Equal(7200, samples["attach_gpu_seconds_one_gpu_per_user_total"], precision: 6);
        Assert.Equal(5400, samples["attach_gpu_seconds_saved_total"], precision: 6);
    }

    [Fact]
    public async Task Scrape_AfterAReleaseByTheUser_ShowsTheSliceGoneAndItsTransitionsCounted()
    {
        using var agent = Client(user: null);
        (await agent.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", Gpus))).EnsureSuccessStatusCode();
        using var ada = Client("ada");
        (await ada.PostAsJsonAsync("/api/v1/kernels/k-1/executions", new ExecutionRequest("msg-1", GpuCell))).EnsureSuccessStatusCode();
        _time.Advance(TimeSpan.FromMinutes(10));

        (await ada.DeleteAsync("/api/v1/kernels/k-1")).EnsureSuccessStatusCode();
        _time.Advance(TimeSpan.FromMinutes(50));
        var samples = Exposition.Parse(await agent.GetStringAsync("/metrics"));

        Assert.Equal(1, samples["""attach_kernel_transitions_total{from="Attached",to="Releasing"}"""]);
        Assert.Equal(1, samples["""attach_kernel_transitions_total{from="Releasing",to="Detached"}"""]);
        Assert.All(Gpus, g => Assert.Equal(0, samples[Series("attach_slices_allocated", g)]));
        Assert.Equal(600 * 0.25, samples["attach_gpu_seconds_used_total"], precision: 6);
        Assert.Equal(3600 - (600 * 0.25), samples["attach_gpu_seconds_saved_total"], precision: 6);
    }

    private static string Series(string name, GpuInfo gpu) =>
        string.Create(CultureInfo.InvariantCulture, $$"""{{name}}{node="node-a",gpu="{{gpu.Index}}",model="{{gpu.DisplayName}}"}""");

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
            // Longer than the hour the tests let pass: nothing is released behind their back.
            builder.UseSetting("Broker:IdleTimeout", "1.00:00:00");
            // The agent sends one heartbeat; its leases must outlive the hour without another.
            builder.UseSetting("Broker:LeaseTtl", "1.00:00:00");
            builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
            builder.ConfigureTestServices(services =>
            {
                services.AddSingleton<TimeProvider>(time);
                services.AddHttpClient(AgentClient.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => new FakeAgentHandler(Gpus, time));
            });
        }
    }
}
