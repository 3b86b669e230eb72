using System.Net.Http.Json;
using System.Text.Json;
using Attach.Contracts.Kernels;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Apis;

/// <summary>A process run with <c>attach run --batch</c>: its shim request arrives as batch and waits behind interactive work.</summary>
public sealed class BatchRuntimeAttachTests : IAsyncLifetime
{
    private readonly BrokerApp _app = new() { RealScheduler = true };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task BatchRequest_WaitsAsBatch_BehindAnInteractiveOneThatCameLater()
    {
        using var agent = _app.CreateClient(null);
        (await agent.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", [Gpu(0, 80)]))).EnsureSuccessStatusCode();
        var holder = await RuntimeAttachAsync(agent, "holder", AttachPriority.Interactive);

        var batch = await RuntimeAttachAsync(agent, "run-batch", AttachPriority.Batch);
        var interactive = await RuntimeAttachAsync(agent, "run-interactive", AttachPriority.Interactive);
        using var queue = JsonDocument.Parse(await agent.GetStringAsync("/api/v1/queue"));

        Assert.Equal(RuntimeAttachStatus.Granted, holder.Status);
        Assert.Equal((RuntimeAttachStatus.Queued, 1), (batch.Status, batch.QueuePosition));
        Assert.Equal((RuntimeAttachStatus.Queued, 1), (interactive.Status, interactive.QueuePosition));
        var waiters = queue.RootElement.GetProperty("waiters").EnumerateArray()
            .Select(w => (w.GetProperty("kernelId").GetString(), w.GetProperty("priority").GetString(), w.GetProperty("position").GetInt32()))
            .ToList();
        Assert.Equal([("run-interactive", "Interactive", 1), ("run-batch", "Batch", 2)], waiters);
    }

    private static async Task<RuntimeAttachDecision> RuntimeAttachAsync(HttpClient agent, string session, AttachPriority priority)
    {
        using var response = await agent.PostAsJsonAsync(
            $"/api/v1/kernels/{session}/runtime-attach", new RuntimeAttachRequest("node-a", 4242, 0, 0, 80 * GiB, Wait: true, priority));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<RuntimeAttachDecision>())!;
    }
}
