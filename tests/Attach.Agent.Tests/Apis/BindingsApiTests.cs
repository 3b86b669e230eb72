using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Microsoft.AspNetCore.Mvc;

namespace Attach.Agent.Tests.Apis;

public sealed class BindingsApiTests
{
    private static BindRequest Request(string lease = "lease-1", long epoch = 1, int gpu = 0, long memoryMiB = 20480, int compute = 25) =>
        new(lease, epoch, "kernel-1", gpu, memoryMiB, compute);

    [Theory]
    [InlineData("GET", "/api/v1/gpus")]
    [InlineData("GET", "/api/v1/bindings")]
    [InlineData("POST", "/api/v1/bindings")]
    [InlineData("DELETE", "/api/v1/bindings/lease-1?epoch=1")]
    public async Task AnyRoute_WithoutKey_Returns401(string method, string path)
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateClient();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Bind_WrongKey_Returns401ProblemNamingTheSetting()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", "not-the-key-not-the-key-not-the-key-!!");

        using var response = await client.PostAsJsonAsync("/api/v1/bindings", Request());

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Contains("Attach:InternalKey", problem!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bind_FreeSlice_Returns200WithBindingAndEnvironment()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();

        using var response = await client.PostAsJsonAsync("/api/v1/bindings", Request());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var binding = await response.Content.ReadFromJsonAsync<BindingInfo>();
        Assert.NotNull(binding);
        Assert.Equal("lease-1", binding.LeaseId);
        Assert.True(binding.Gpu.Simulated);
        Assert.Equal(factory.Time.GetUtcNow(), binding.BoundAt);
        Assert.Equal(binding.Gpu.Uuid, binding.Environment["CUDA_VISIBLE_DEVICES"]);
        Assert.Equal("20480m", binding.Environment["CUDA_DEVICE_MEMORY_LIMIT"]);
        Assert.Equal("25", binding.Environment["CUDA_DEVICE_SM_LIMIT"]);
    }

    [Fact]
    public async Task Bind_SameRequestTwice_Returns200WithTheSameBinding()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();

        var first = await (await client.PostAsJsonAsync("/api/v1/bindings", Request())).Content.ReadFromJsonAsync<BindingInfo>();
        factory.Time.Advance(TimeSpan.FromSeconds(30));
        using var again = await client.PostAsJsonAsync("/api/v1/bindings", Request());

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(first!.BoundAt, (await again.Content.ReadFromJsonAsync<BindingInfo>())!.BoundAt);
        Assert.Single((await client.GetFromJsonAsync<BindingInfo[]>("/api/v1/bindings"))!);
    }

    [Fact]
    public async Task Bind_OverCapacity_Returns409ProblemSayingWhatToDo()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();
        (await client.PostAsJsonAsync("/api/v1/bindings", Request(lease: "first", memoryMiB: 61440))).EnsureSuccessStatusCode();

        using var response = await client.PostAsJsonAsync("/api/v1/bindings", Request(lease: "second", memoryMiB: 40960));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Contains("20480 MiB free", problem!.Detail, StringComparison.Ordinal);
        Assert.Contains("Ask for at most 20480 MiB", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bind_StaleEpoch_Returns409()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();
        (await client.PostAsJsonAsync("/api/v1/bindings", Request(epoch: 5))).EnsureSuccessStatusCode();

        using var response = await client.PostAsJsonAsync("/api/v1/bindings", Request(epoch: 4));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("stale", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[1, 2]")]
    [InlineData("{\"leaseId\": \"lease-1\", \"epoch\": \"one\"}")]
    [InlineData("{\"leaseId\": \"lease-1\", \"memoryMiB\": 1e400}")]
    public async Task Bind_UnreadableBody_Returns400Problem(string body)
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();

        using var response = await client.PostAsync("/api/v1/bindings", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Contains("leaseId", problem!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bind_InvalidValues_Returns400ValidationProblemPerField()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();

        using var response = await client.PostAsJsonAsync("/api/v1/bindings", new BindRequest("lease-1", 1, "kernel-1", 0, 0, 150));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ValidationProblemDetails>();
        Assert.Equal(["computePercent", "memoryMiB"], problem!.Errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Bind_UnknownGpu_Returns400NamingTheGpus()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();

        using var response = await client.PostAsJsonAsync("/api/v1/bindings", Request(gpu: 9));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ValidationProblemDetails>();
        Assert.Contains("0, 1, 2, 3", Assert.Single(problem!.Errors["gpuIndex"]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_BoundLease_Returns204ThenNotFound()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();
        (await client.PostAsJsonAsync("/api/v1/bindings", Request(epoch: 2))).EnsureSuccessStatusCode();

        using var deleted = await client.DeleteAsync("/api/v1/bindings/lease-1?epoch=2");
        using var again = await client.DeleteAsync("/api/v1/bindings/lease-1?epoch=2");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.NotNull((await again.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail);
        Assert.Empty((await client.GetFromJsonAsync<BindingInfo[]>("/api/v1/bindings"))!);
    }

    [Fact]
    public async Task Delete_StaleEpoch_Returns409AndKeepsBinding()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();
        (await client.PostAsJsonAsync("/api/v1/bindings", Request(epoch: 3))).EnsureSuccessStatusCode();

        using var response = await client.DeleteAsync("/api/v1/bindings/lease-1?epoch=2");

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Single((await client.GetFromJsonAsync<BindingInfo[]>("/api/v1/bindings"))!);
    }

    [Theory]
    [InlineData("/api/v1/bindings/lease-1")]
    [InlineData("/api/v1/bindings/lease-1?epoch=latest")]
    public async Task Delete_WithoutIntegerEpoch_Returns400ProblemNamingEpoch(string path)
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();

        using var response = await client.DeleteAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("epoch", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListBindings_AfterBinds_ReturnsLedgerAsCamelCaseJson()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();
        (await client.PostAsJsonAsync("/api/v1/bindings", Request(lease: "a"))).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/bindings", Request(lease: "b", gpu: 1))).EnsureSuccessStatusCode();

        using var document = JsonDocument.Parse(await client.GetStringAsync("/api/v1/bindings"));

        Assert.Equal(["a", "b"], document.RootElement.EnumerateArray().Select(binding => binding.GetProperty("leaseId").GetString()));
        Assert.Equal("A100 80GB (simulated)", document.RootElement[0].GetProperty("gpu").GetProperty("displayName").GetString());
    }
}
