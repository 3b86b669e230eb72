using System.Text.Json;
using Attach.Agent.Broker;
using Attach.Agent.Gpu;
using Attach.Agent.Slices;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Tests.Broker;

/// <summary>The heartbeat carries the agent's latest GPU readings, so the broker's idle policy can see a GPU that works.</summary>
public sealed class HeartbeatReadingsTests : IDisposable
{
    private readonly TimerSignalingTimeProvider _time = new();
    private readonly FakeBrokerHandler _broker = new();
    private readonly HttpClient _http;
    private readonly SliceLedger _ledger;
    private readonly GpuReadingMonitor _monitor;
    private readonly BrokerHeartbeatService _service;

    public HeartbeatReadingsTests()
    {
        var options = Options.Create(new AgentOptions
        {
            NodeId = "node-a",
            BrokerUrl = new Uri("http://broker.test:5100/"),
            AdvertisedUrl = new Uri("http://node-a.test:5200"),
            Simulated = new SimulatedGpuOptions { GpuCount = 2 },
        });
        var inventory = new SimulatedGpuInventory("node-a", options.Value.Simulated, "no NVIDIA device found");
        _ledger = new SliceLedger(inventory, _time, NullLogger<SliceLedger>.Instance);
        _monitor = new GpuReadingMonitor(inventory, _ledger, options, _time, NullLogger<GpuReadingMonitor>.Instance);
        _http = new HttpClient(_broker) { BaseAddress = options.Value.BrokerUrl };
        _service = new BrokerHeartbeatService(new BrokerClient(_http), inventory, _ledger, options, _time, NullLogger<BrokerHeartbeatService>.Instance, _monitor);
    }

    public void Dispose()
    {
        _service.Dispose();
        _monitor.Dispose();
        _http.Dispose();
    }

    [Fact]
    public async Task Heartbeat_AfterAReading_CarriesEachGpusLatestReadingLabelledSimulated()
    {
        _ledger.Bind(new BindRequest("lease-1", 3, "kernel-1", 1, 20480, 25));
        await _monitor.RefreshAsync(CancellationToken.None);

        await _service.BeatAsync(CancellationToken.None);

        var heartbeat = JsonSerializer.Deserialize<NodeHeartbeat>((await _broker.NextRequestAsync()).Body, JsonSerializerOptions.Web)!;
        Assert.NotNull(heartbeat.Readings);
        Assert.Equal([0, 1], heartbeat.Readings.Select(r => r.Index));
        Assert.All(heartbeat.Readings, r => Assert.True(r.Simulated));
        Assert.Equal(_monitor.Latest.Gpus.Select(r => r.UtilizationPercent), heartbeat.Readings.Select(r => r.UtilizationPercent));
        Assert.Equal(25, heartbeat.Readings[1].UtilizationPercent);
    }

    [Fact]
    public async Task Heartbeat_BeforeAnyReading_CarriesNoReadings()
    {
        await _service.BeatAsync(CancellationToken.None);

        var heartbeat = JsonSerializer.Deserialize<NodeHeartbeat>((await _broker.NextRequestAsync()).Body, JsonSerializerOptions.Web)!;
        Assert.Null(heartbeat.Readings);
    }
}
