using System.Net.Http.Json;
using System.Text.Json;
using Attach.Agent.Gpu;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Microsoft.Extensions.DependencyInjection;
using Moq;

namespace Attach.Agent.Tests.Gpu;

/// <summary>The readings as <c>GET /api/v1/gpus</c> shows them, for both backends.</summary>
public sealed class GpuReadingsApiTests
{
    [Fact]
    public async Task ListGpus_SimulatedPool_BoundSlicesAsUsageMarkedSimulated()
    {
        await using var factory = new AgentFactory();
        using var client = factory.CreateAuthorizedClient();
        (await client.PostAsJsonAsync("/api/v1/bindings", new BindRequest("lease-1", 1, "kernel-1", 1, 20480, 25))).EnsureSuccessStatusCode();
        await factory.Services.GetRequiredService<GpuReadingMonitor>().RefreshAsync(CancellationToken.None);

        using var document = JsonDocument.Parse(await client.GetStringAsync("/api/v1/gpus"));

        var root = document.RootElement;
        Assert.Equal(factory.Time.GetUtcNow(), root.GetProperty("readAt").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("readingError").ValueKind);
        var gpu = root.GetProperty("gpus")[1];
        Assert.True(gpu.GetProperty("gpu").GetProperty("simulated").GetBoolean());
        Assert.Equal(20480, gpu.GetProperty("memoryUsedMiB").GetInt64());
        Assert.Equal(25, gpu.GetProperty("utilizationPercent").GetInt32());
        Assert.Equal(0, gpu.GetProperty("processes").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, gpu.GetProperty("mig").ValueKind);
        Assert.Equal(JsonValueKind.Null, gpu.GetProperty("driverVersion").ValueKind);
    }

    [Fact]
    public async Task ListGpus_NvidiaBackendOnRecordedH200_RealGpuWithReading()
    {
        var probe = new Mock<INvidiaDeviceProbe>();
        probe.Setup(p => p.FindNvidiaSmi()).Returns("/usr/bin/nvidia-smi");
        var nvidiaSmi = new RecordedNvidiaSmi(NvidiaSmiFixtures.Read("nvidia-gpu-exporter-h200-mig-580.173.02.csv"), RecordedNvidiaSmi.EmptyLog);
        await using var factory = new AgentFactory(
            new Dictionary<string, string?> { ["Agent:Backend"] = "nvidia" },
            services => services.AddSingleton(probe.Object).AddSingleton<INvidiaSmi>(nvidiaSmi));
        using var client = factory.CreateAuthorizedClient();
        await factory.Services.GetRequiredService<GpuReadingMonitor>().RefreshAsync(CancellationToken.None);

        using var document = JsonDocument.Parse(await client.GetStringAsync("/api/v1/gpus"));

        var root = document.RootElement;
        Assert.Equal("nvidia-smi", root.GetProperty("backend").GetProperty("name").GetString());
        Assert.False(root.GetProperty("backend").GetProperty("simulated").GetBoolean());
        var gpu = Assert.Single(root.GetProperty("gpus").EnumerateArray());
        Assert.Equal("NVIDIA H200", gpu.GetProperty("gpu").GetProperty("displayName").GetString());
        Assert.Equal(143771, gpu.GetProperty("gpu").GetProperty("memoryTotalMiB").GetInt64());
        Assert.Equal(44, gpu.GetProperty("memoryUsedMiB").GetInt64());
        Assert.Equal(JsonValueKind.Null, gpu.GetProperty("utilizationPercent").ValueKind);
        Assert.Equal("580.173.02", gpu.GetProperty("driverVersion").GetString());
        Assert.True(gpu.GetProperty("mig").GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task ListGpus_ReadingFails_LastReadingWithTheError()
    {
        var probe = new Mock<INvidiaDeviceProbe>();
        probe.Setup(p => p.FindNvidiaSmi()).Returns("/usr/bin/nvidia-smi");
        var nvidiaSmi = new RecordedNvidiaSmi(NvidiaSmiFixtures.Read("nvidia-gpu-exporter-h200-mig-580.173.02.csv"), RecordedNvidiaSmi.EmptyLog);
        await using var factory = new AgentFactory(
            new Dictionary<string, string?> { ["Agent:Backend"] = "nvidia" },
            services => services.AddSingleton(probe.Object).AddSingleton<INvidiaSmi>(nvidiaSmi));
        using var client = factory.CreateAuthorizedClient();
        var monitor = factory.Services.GetRequiredService<GpuReadingMonitor>();
        await monitor.RefreshAsync(CancellationToken.None);
        var readAt = monitor.Latest.ReadAt;
        nvidiaSmi.Failure = "nvidia-smi -q -x did not finish within 15 s and was stopped.";
        await monitor.RefreshAsync(CancellationToken.None);

        using var document = JsonDocument.Parse(await client.GetStringAsync("/api/v1/gpus"));

        var root = document.RootElement;
        Assert.Equal(readAt, root.GetProperty("readAt").GetDateTimeOffset());
        Assert.Contains("did not finish", root.GetProperty("readingError").GetString(), StringComparison.Ordinal);
        Assert.Equal(44, root.GetProperty("gpus")[0].GetProperty("memoryUsedMiB").GetInt64());
    }
}
