using System.Net.Http.Json;
using Attach.Agent.Containers;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.DependencyInjection;

namespace Attach.Agent.Tests.Containers;

/// <summary>
/// An in-memory agent on a node of its own (so parallel tests, and other tests' orphan cleanup, never see its
/// containers), with a client for its API and one for the engine. Disposing it removes every container of its node.
/// </summary>
internal sealed class ContainerTestAgent : IAsyncDisposable
{
    private readonly string _stateDirectory;

    public ContainerTestAgent(string? nodeId = null, IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        NodeId = nodeId ?? $"containers-test-{Guid.NewGuid().ToString("N")[..10]}";
        _stateDirectory = Directory.CreateTempSubdirectory("attach-containers-test-").FullName;
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Agent:NodeId"] = NodeId,
            ["Agent:StateDirectory"] = _stateDirectory,
            ["Agent:Containers:DockerUri"] = DockerEngine.Uri.ToString(),
            ["Agent:Containers:StopTimeout"] = "00:00:01",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        Factory = new AgentFactory(all, configureServices);
        Api = Factory.CreateAuthorizedClient();
        Docker = DockerEngine.CreateClient();
    }

    public string NodeId { get; }

    public AgentFactory Factory { get; }

    public HttpClient Api { get; }

    public IDockerClient Docker { get; }

    public ContainerRunner Runner => Factory.Services.GetRequiredService<ContainerRunner>();

    /// <summary>Binds a slice of simulated GPU 0 (20 GiB, 25 % compute) to the lease.</summary>
    public async Task<BindingInfo> BindAsync(string leaseId, long epoch = 3, string kernelId = "kernel-7")
    {
        using var response = await Api.PostAsJsonAsync("/api/v1/bindings", new BindRequest(leaseId, epoch, kernelId, 0, 20480, 25));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<BindingInfo>())!;
    }

    /// <summary>POST /api/v1/containers; the caller checks the status.</summary>
    public Task<HttpResponseMessage> RunAsync(ContainerRunRequest request) => Api.PostAsJsonAsync("/api/v1/containers", request);

    /// <summary>Runs a container and returns what the agent answered (201 expected).</summary>
    public async Task<ContainerInfo> RunOkAsync(ContainerRunRequest request)
    {
        using var response = await RunAsync(request);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<ContainerInfo>())!;
    }

    public async Task<ContainerInspectResponse?> InspectOrNullAsync(string id)
    {
        try
        {
            return await Docker.Containers.InspectContainerAsync(id);
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            var mine = await Docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = ContainerLabels.NodeFilter(NodeId) });
            foreach (var container in mine)
            {
                await Docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or DockerApiException)
        {
            // No engine (the tests that check exactly that): nothing to clean.
        }

        Docker.Dispose();
        Api.Dispose();
        await Factory.DisposeAsync();
        Directory.Delete(_stateDirectory, recursive: true);
    }
}
