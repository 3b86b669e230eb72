using System.Net;
using System.Net.Http.Json;
using Attach.Broker.Apis;
using Attach.Broker.Pool;
using Attach.Contracts.Pool;
using Microsoft.Extensions.DependencyInjection;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Apis;

public sealed class PoolAndNodesApiTests : IAsyncLifetime
{
    private readonly BrokerApp _app = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Heartbeat_FromAService_IsAcceptedAndTheNodeJoinsThePool()
    {
        using var agent = _app.CreateClient(user: null);

        using var response = await agent.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", [Gpu(0, 80), Gpu(1, 80)]));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var pool = await agent.GetFromJsonAsync<PoolView>("/api/v1/pool");
        var node = Assert.Single(pool!.Nodes);
        Assert.Equal("node-a", node.NodeId);
        Assert.True(node.Backend.Simulated);
        Assert.Equal(2, node.Gpus.Count);
        Assert.Equal(160 * GiB, pool.TotalMiB);
    }

    [Fact]
    public async Task Heartbeat_SentForAUserThroughTheGateway_IsForbidden()
    {
        using var user = _app.CreateClient("mallory");

        using var response = await user.PostAsJsonAsync("/api/v1/nodes/node-evil/heartbeat", Heartbeat("node-evil", [Gpu(0, 80)]));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_app.Services.GetRequiredService<NodeRegistry>().All());
    }

    [Fact]
    public async Task Heartbeat_ForAUserNamedLikeTheService_IsRefused()
    {
        // The gateway forwards whatever name its users have; the service's own name is reserved, never a user's.
        using var user = _app.CreateClient("attach-service");

        using var response = await user.PostAsJsonAsync("/api/v1/nodes/node-evil/heartbeat", Heartbeat("node-evil", [Gpu(0, 80)]));
        using var pool = await user.GetAsync("/api/v1/pool");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, pool.StatusCode);
        Assert.Empty(_app.Services.GetRequiredService<NodeRegistry>().All());
    }

    [Theory]
    [InlineData("{\"nodeId\": \"node-a\", \"backend\": {\"name\": \"simulated\", \"simulated\": true, \"reason\": \"test\"}, \"gpus\": [], \"bindings\": []}")]
    [InlineData("{\"nodeId\": \"node-a\", \"agentUrl\": \"http://node-a:7070/\", \"gpus\": [], \"bindings\": []}")]
    public async Task Heartbeat_MissingAgentUrlOrBackend_Is400(string body)
    {
        await using var production = new BrokerApp("Production");
        using var agent = production.CreateClient(user: null);
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");

        using var response = await agent.PostAsync("/api/v1/nodes/node-a/heartbeat", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Heartbeat_WithoutTheKey_Is401()
    {
        using var anonymous = _app.CreateClient(user: null, key: null);

        using var response = await anonymous.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", [Gpu(0, 80)]));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Heartbeat_ForAnotherNodeIdThanThePath_Is400()
    {
        using var agent = _app.CreateClient(user: null);

        using var response = await agent.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-b", [Gpu(0, 80)]));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(_app.Services.GetRequiredService<NodeRegistry>().All());
    }

    [Fact]
    public async Task Pool_ShowsOtherUsersSlicesWithoutWhoHoldsThem()
    {
        using var agent = _app.CreateClient(user: null);
        (await agent.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", [Gpu(0, 80)]))).Dispose();
        var leases = _app.Services.GetRequiredService<LeaseTable>();
        var alices = leases.Reserve("k-alice", "alice", new SliceRequest(20 * GiB, 25)).Lease!;
        var bobs = leases.Reserve("k-bob", "bob", new SliceRequest(10 * GiB, 25)).Lease!;
        using var bob = _app.CreateClient("bob");

        var pool = await bob.GetFromJsonAsync<PoolView>("/api/v1/pool");

        var gpu = Assert.Single(Assert.Single(pool!.Nodes).Gpus);
        Assert.Equal(30 * GiB, gpu.AllocatedMiB);
        Assert.Equal(50 * GiB, gpu.FreeMiB);
        var hidden = Assert.Single(gpu.Leases, l => l.MemoryMiB == 20 * GiB);
        Assert.Equal((PoolApi.Hidden, PoolApi.Hidden, PoolApi.Hidden), (hidden.LeaseId, hidden.KernelId, hidden.Owner));
        var own = Assert.Single(gpu.Leases, l => l.MemoryMiB == 10 * GiB);
        Assert.Equal((bobs.LeaseId, "k-bob", "bob"), (own.LeaseId, own.KernelId, own.Owner));
        var raw = await bob.GetStringAsync("/api/v1/pool");
        Assert.DoesNotContain("alice", raw, StringComparison.Ordinal);
        Assert.DoesNotContain(alices.LeaseId, raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pool_ForTheServiceItself_ShowsEveryHolder()
    {
        using var agent = _app.CreateClient(user: null);
        (await agent.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", [Gpu(0, 80)]))).Dispose();
        _app.Services.GetRequiredService<LeaseTable>().Reserve("k-alice", "alice", new SliceRequest(20 * GiB, 25));

        var pool = await agent.GetFromJsonAsync<PoolView>("/api/v1/pool");

        var lease = Assert.Single(Assert.Single(Assert.Single(pool!.Nodes).Gpus).Leases);
        Assert.Equal(("k-alice", "alice"), (lease.KernelId, lease.Owner));
    }

    [Fact]
    public async Task Pool_WithoutTheKey_Is401()
    {
        using var anonymous = _app.CreateClient(user: null, key: null);

        using var response = await anonymous.GetAsync("/api/v1/pool");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
