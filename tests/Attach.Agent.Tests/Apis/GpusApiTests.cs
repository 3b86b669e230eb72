using System.Net.Http.Json;
using System.Text.Json;
using Attach.Agent.Gpu;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Microsoft.Extensions.DependencyInjection;
using Moq;

namespace Attach.Agent.Tests.Apis;

public sealed class GpusApiTests
{
    [Fact]
    public async Task ListGpus_SimulatedPool_ReportsBackendGpusAndAllocations()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();
        (await client.PostAsJsonAsync("/api/v1/bindings", new BindRequest("lease-1", 1, "kernel-1", 1, 20480, 25))).EnsureSuccessStatusCode();

        using var document = JsonDocument.Parse(await client.GetStringAsync("/api/v1/gpus"));
        var root = document.RootElement;

        var backend = root.GetProperty("backend");
        Assert.Equal("simulated", backend.GetProperty("name").GetString());
        Assert.True(backend.GetProperty("simulated").GetBoolean());
        Assert.False(string.IsNullOrEmpty(backend.GetProperty("reason").GetString()));

        var gpus = root.GetProperty("gpus").EnumerateArray().ToList();
        Assert.Equal(4, gpus.Count);
        Assert.All(gpus, entry =>
        {
            Assert.True(entry.GetProperty("gpu").GetProperty("simulated").GetBoolean());
            Assert.EndsWith("(simulated)", entry.GetProperty("gpu").GetProperty("displayName").GetString(), StringComparison.Ordinal);
        });
        Assert.Equal(0, gpus[0].GetProperty("allocatedMiB").GetInt64());
        Assert.Equal(20480, gpus[1].GetProperty("allocatedMiB").GetInt64());
        Assert.Equal(61440, gpus[1].GetProperty("freeMiB").GetInt64());
        Assert.Equal(25, gpus[1].GetProperty("allocatedComputePercent").GetInt32());
        Assert.Equal("lease-1", gpus[1].GetProperty("bindings")[0].GetProperty("leaseId").GetString());
    }

    [Fact]
    public async Task Startup_AutoBackendOnNvidiaNode_FailsWithInstructions()
    {
        var probe = new Mock<INvidiaDeviceProbe>();
        probe.Setup(p => p.ControlDeviceExists()).Returns(true);
        await using var factory = new AgentFactory(
            new Dictionary<string, string?> { ["Agent:Backend"] = "auto" },
            services => services.AddSingleton(probe.Object));

        var exception = Assert.Throws<InvalidOperationException>(() => factory.CreateClient());

        Assert.Contains("Agent__Backend=simulated", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_AutoBackendWithoutNvidiaDevice_ServesSimulatedPool()
    {
        var probe = new Mock<INvidiaDeviceProbe>();
        await using var factory = new AgentFactory(
            new Dictionary<string, string?> { ["Agent:Backend"] = "auto", ["Agent:Simulated:GpuCount"] = "2" },
            services => services.AddSingleton(probe.Object));
        using var client = factory.CreateAuthorizedClient();

        using var document = JsonDocument.Parse(await client.GetStringAsync("/api/v1/gpus"));

        Assert.Contains("no NVIDIA device found", document.RootElement.GetProperty("backend").GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, document.RootElement.GetProperty("gpus").GetArrayLength());
    }
}
