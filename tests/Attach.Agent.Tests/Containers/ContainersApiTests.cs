using System.Net;
using System.Net.Http.Json;
using Attach.Agent.Containers;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Attach.Agent.Tests.Containers;

/// <summary>What the containers API says when it cannot or must not reach the engine; no engine needed.</summary>
public sealed class ContainersApiTests
{
    private static Dictionary<string, string?> NoEngine() => new()
    {
        ["Agent:Containers:DockerUri"] = $"unix:///tmp/attach-no-docker-{Guid.NewGuid():N}.sock",
    };

    [Theory]
    [InlineData("GET", "/api/v1/containers")]
    [InlineData("POST", "/api/v1/containers")]
    [InlineData("GET", "/api/v1/containers/abc/logs")]
    [InlineData("POST", "/api/v1/containers/abc/stop")]
    [InlineData("DELETE", "/api/v1/containers/abc")]
    public async Task AnyRoute_WithoutKey_Returns401(string method, string path)
    {
        await using var factory = new AgentFactory(NoEngine());
        using var client = factory.CreateClient();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task List_NoDockerSocket_AgentRunsAndAnswers503SayingHowToStartDocker()
    {
        await using var factory = new AgentFactory(NoEngine());
        using var client = factory.CreateAuthorizedClient();

        using var gpus = await client.GetAsync("/api/v1/gpus");
        using var response = await client.GetAsync("/api/v1/containers");

        Assert.Equal(HttpStatusCode.OK, gpus.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Equal("The Docker engine is not reachable", problem!.Title);
        Assert.Contains("no socket at /tmp/attach-no-docker-", problem.Detail, StringComparison.Ordinal);
        Assert.Contains("Start dockerd", problem.Detail, StringComparison.Ordinal);
        Assert.Contains("Agent:Containers:DockerUri", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_BoundLeaseButNoDockerSocket_Returns503()
    {
        await using var factory = new AgentFactory(NoEngine());
        using var client = factory.CreateAuthorizedClient();
        (await client.PostAsJsonAsync("/api/v1/bindings", new BindRequest("lease-1", 1, "kernel-1", 0, 1024, 10))).EnsureSuccessStatusCode();

        using var response = await client.PostAsJsonAsync("/api/v1/containers", new ContainerRunRequest("lease-1", DockerEngine.TestImage, ["true"]));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("unix:///var/run/docker.sock", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/v1/containers", "container request")]
    [InlineData("/api/v1/bindings/lease-1/suspend", "suspend request")]
    [InlineData("/api/v1/bindings", "bind request")]
    public async Task Post_BodyThatIsNotJson_Returns400SayingWhatThatRouteTakes(string path, string expected)
    {
        await using var factory = new AgentFactory(NoEngine());
        using var client = factory.CreateAuthorizedClient();

        using var response = await client.PostAsync(path, new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_UnknownLease_Returns404NamingTheLease()
    {
        await using var factory = new AgentFactory(NoEngine());
        using var client = factory.CreateAuthorizedClient();

        using var response = await client.PostAsJsonAsync("/api/v1/containers", new ContainerRunRequest("lease-nobody-bound", DockerEngine.TestImage, ["true"]));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Contains("lease-nobody-bound", problem!.Detail, StringComparison.Ordinal);
        Assert.Contains("POST /api/v1/bindings", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_EnvOverridesTheBindingOrLimitsOutOfRange_Returns400PerField()
    {
        await using var factory = new AgentFactory(NoEngine());
        using var client = factory.CreateAuthorizedClient();
        (await client.PostAsJsonAsync("/api/v1/bindings", new BindRequest("lease-1", 1, "kernel-1", 0, 1024, 10))).EnsureSuccessStatusCode();

        using var response = await client.PostAsJsonAsync("/api/v1/containers", new ContainerRunRequest(
            "lease-1", " ", ["true"], MemoryMiB: 1, Cpus: 100_000, Env: new Dictionary<string, string> { ["CUDA_VISIBLE_DEVICES"] = "all" }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ValidationProblemDetails>();
        Assert.Equal(["cpus", "env", "image", "memoryMiB"], problem!.Errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("CUDA_VISIBLE_DEVICES", problem.Errors["env"][0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_ContainersDisabled_Returns503SayingTheSetting()
    {
        await using var factory = new AgentFactory(new Dictionary<string, string?> { ["Agent:Containers:Enabled"] = "false" });
        using var client = factory.CreateAuthorizedClient();

        using var response = await client.GetAsync("/api/v1/containers");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("Agent:Containers:Enabled is false", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_EngineRefusesConnections_ReportsUnreachable()
    {
        // A real clock: the retries wait (jittered) between attempts.
        await using var factory = new AgentFactory(
            new Dictionary<string, string?> { ["Agent:Containers:DockerUri"] = "tcp://127.0.0.1:1" },
            services => services.AddSingleton(TimeProvider.System));
        var runner = factory.Services.GetRequiredService<ContainerRunner>();

        var result = await runner.ListAsync(CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Equal(ContainerFailureKind.DockerUnavailable, result.Failure.Kind);
        Assert.Contains("tcp://127.0.0.1:1", result.Failure.Detail, StringComparison.Ordinal);
        // The start-up check has failed already, so the circuit may be open by now: either way the engine is unreachable.
        Assert.Contains("not reachable", result.Failure.Detail, StringComparison.Ordinal);
        Assert.Contains("Start dockerd", result.Failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_DockerUriWithUnknownScheme_FailsStartNamingTheSetting()
    {
        await using var factory = new AgentFactory(new Dictionary<string, string?> { ["Agent:Containers:DockerUri"] = "ftp://docker" });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("Agent:Containers:DockerUri", error.ToString(), StringComparison.Ordinal);
    }
}
