using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Http;
using Attach.Contracts.Kernels;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Attach.Broker.Tests.Apis;

/// <summary>
/// The executions API for a kernel its idle policy suspended to host memory: the held cell is told it is resuming and,
/// once it has, "resumed from host memory in X s", before its decision.
/// </summary>
public sealed class ResumeProgressTests : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly SuspendingApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task GpuCellOfASuspendedKernel_ReportsTheResumeAndItsTime_ThenAttaches()
    {
        using var alice = _app.CreateClient("alice");
        await ExecuteAsync(alice);
        // The idle policy (0.2 s here) suspends it.
        using (var timeout = new CancellationTokenSource(TestTimeouts.Event))
        {
            while ((await alice.GetFromJsonAsync<KernelStatus>("/api/v1/kernels/k-1", timeout.Token))!.State != KernelState.Suspended)
            {
                await Task.Delay(20, timeout.Token);
            }
        }

        var suspended = (await alice.GetFromJsonAsync<KernelStatus>("/api/v1/kernels/k-1"))!;
        Assert.Equal(2L * 1024 * 1024 * 1024, suspended.SuspendedBytes);
        Assert.Contains("2.0 GiB kept in host memory", suspended.Reason, StringComparison.Ordinal);

        var updates = await ExecuteAsync(alice);

        var progress = updates.Where(u => u.Progress is not null).Select(u => u.Progress!).ToList();
        Assert.All(progress, p => Assert.Equal(ExecutionPhase.Resuming, p.Phase));
        Assert.StartsWith("resumed from host memory in 0.75 s", progress[^1].Message, StringComparison.Ordinal);
        var decision = updates[^1].Decision!;
        Assert.Null(decision.Error);
        Assert.NotNull(decision.Attachment);
        Assert.Equal(4242, Assert.Single(_app.Binder.Resumes).Pid);
    }

    private static async Task<List<ExecutionUpdate>> ExecuteAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/kernels/k-1/executions")
        {
            Content = JsonContent.Create(new ExecutionRequest($"msg-{Guid.NewGuid():N}", "model = Net().cuda()\nmodel(x.cuda())")),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(AttachMediaTypes.NdJson));
        using var response = await client.SendAsync(request).WaitAsync(TestTimeouts.Event);
        response.EnsureSuccessStatusCode();
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return [.. lines.Select(l => JsonSerializer.Deserialize<ExecutionUpdate>(l, Json)!)];
    }

    /// <summary>The broker in memory with a binder whose agent suspends and resumes, and a short idle timeout.</summary>
    private sealed class SuspendingApp : WebApplicationFactory<Program>
    {
        public SuspendingGpuBinder Binder { get; } = new();

        public HttpClient CreateClient(string user)
        {
            var client = CreateClient();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BrokerApp.InternalKey);
            client.DefaultRequestHeaders.Add(AttachHeaders.User, user);
            return client;
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Attach:InternalKey", BrokerApp.InternalKey);
            builder.UseSetting("Broker:IdleTimeout", "00:00:00.200");
            builder.UseSetting("Broker:Store:Kind", "memory");
            builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
            builder.ConfigureTestServices(services =>
            {
                services.RemoveAll<IGpuBinder>();
                services.AddSingleton<IGpuBinder>(Binder);
            });
        }
    }
}
