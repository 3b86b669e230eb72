using System.Net;
using System.Text.Json;
using Attach.Agent.Broker;
using Attach.Agent.Gpu;
using Attach.Agent.Slices;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Tests.Broker;

public sealed class BrokerHeartbeatServiceTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly TimerSignalingTimeProvider _time = new();
    private readonly FakeBrokerHandler _broker = new();
    private readonly HttpClient _http;
    private readonly RecordingLogger<BrokerHeartbeatService> _logger = new();
    private readonly SliceLedger _ledger;
    private readonly BrokerHeartbeatService _service;

    public BrokerHeartbeatServiceTests()
    {
        var options = new AgentOptions
        {
            NodeId = "node-a",
            BrokerUrl = new Uri("http://broker.test:5100/attach"),
            AdvertisedUrl = new Uri("http://node-a.test:5200"),
            HeartbeatInterval = Interval,
            Simulated = new SimulatedGpuOptions { GpuCount = 2 },
        };
        var inventory = new SimulatedGpuInventory(options.NodeId, options.Simulated, "no NVIDIA device found");
        _ledger = new SliceLedger(inventory, _time, NullLogger<SliceLedger>.Instance);
        _http = new HttpClient(_broker) { BaseAddress = BaseUrl.WithTrailingSlash(options.BrokerUrl) };
        _service = new BrokerHeartbeatService(new BrokerClient(_http), inventory, _ledger, Options.Create(options), _time, _logger);
    }

    public void Dispose()
    {
        _service.Dispose();
        _http.Dispose();
    }

    [Fact]
    public async Task ExecuteAsync_Start_SendsNodeGpusAndLedgerImmediately()
    {
        _ledger.Bind(new BindRequest("lease-1", 3, "kernel-1", 1, 20480, 25));

        await _service.StartAsync(CancellationToken.None);
        var request = await _broker.NextRequestAsync();
        await _service.StopAsync(CancellationToken.None);

        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://broker.test:5100/attach/api/v1/nodes/node-a/heartbeat", request.Uri.ToString());
        using var document = JsonDocument.Parse(request.Body);
        var heartbeat = document.RootElement;
        Assert.Equal("node-a", heartbeat.GetProperty("nodeId").GetString());
        Assert.Equal("http://node-a.test:5200/", heartbeat.GetProperty("agentUrl").GetString());
        Assert.Equal("simulated", heartbeat.GetProperty("backend").GetProperty("name").GetString());
        Assert.True(heartbeat.GetProperty("backend").GetProperty("simulated").GetBoolean());
        Assert.Equal("no NVIDIA device found", heartbeat.GetProperty("backend").GetProperty("reason").GetString());
        Assert.Equal(2, heartbeat.GetProperty("gpus").GetArrayLength());
        Assert.True(heartbeat.GetProperty("gpus")[0].GetProperty("simulated").GetBoolean());
        var binding = Assert.Single(heartbeat.GetProperty("bindings").EnumerateArray());
        Assert.Equal("lease-1", binding.GetProperty("leaseId").GetString());
        Assert.Equal(3, binding.GetProperty("epoch").GetInt64());
        Assert.Equal(1, binding.GetProperty("gpu").GetProperty("index").GetInt32());

        // A heartbeat is what the broker reads back, so it must round-trip into the contract.
        var parsed = JsonSerializer.Deserialize<NodeHeartbeat>(request.Body, JsonSerializerOptions.Web);
        Assert.Equal("20480m", Assert.Single(parsed!.Bindings).Environment["CUDA_DEVICE_MEMORY_LIMIT"]);
    }

    [Fact]
    public async Task ExecuteAsync_IntervalElapses_SendsNextHeartbeatWithCurrentLedger()
    {
        await _service.StartAsync(CancellationToken.None);
        Assert.Equal("[]", JsonDocument.Parse((await _broker.NextRequestAsync()).Body).RootElement.GetProperty("bindings").GetRawText());
        Assert.Equal(Interval, await _time.NextTimerAsync());

        _ledger.Bind(new BindRequest("lease-1", 1, "kernel-1", 0, 1024, 10));
        _time.Advance(Interval - TimeSpan.FromMilliseconds(1));
        Assert.False(_broker.TryTakeRequest(out _));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var second = await _broker.NextRequestAsync();
        await _service.StopAsync(CancellationToken.None);

        Assert.Equal(1, JsonDocument.Parse(second.Body).RootElement.GetProperty("bindings").GetArrayLength());
    }

    [Fact]
    public async Task ExecuteAsync_BrokerUnreachable_KeepsBeatingAndLogsOnce()
    {
        _broker.Respond = static _ => throw new HttpRequestException("Connection refused (broker.test:5100)");

        await _service.StartAsync(CancellationToken.None);
        for (var beat = 0; beat < 3; beat++)
        {
            await _broker.NextRequestAsync();
            await _time.NextTimerAsync();
            _time.Advance(Interval);
        }

        await _broker.NextRequestAsync();
        await _service.StopAsync(CancellationToken.None);

        var warning = Assert.Single(_logger.AtOrAbove(LogLevel.Warning));
        Assert.Contains("http://broker.test:5100/attach", warning.Message, StringComparison.Ordinal);
        Assert.Contains("Connection refused", warning.Message, StringComparison.Ordinal);
        Assert.Contains("Agent:BrokerUrl", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BeatAsync_FirstSuccess_LogsRegisteredOnce()
    {
        await _service.BeatAsync(CancellationToken.None);
        await _service.BeatAsync(CancellationToken.None);

        var entry = Assert.Single(_logger.AtOrAbove(LogLevel.Information));
        Assert.Contains("Registered with broker", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BeatAsync_OutageThenRecovery_LogsOutageOnceAndRecoveryOnce()
    {
        await _service.BeatAsync(CancellationToken.None);
        _broker.Respond = static _ => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        for (var beat = 0; beat < 4; beat++)
        {
            await _service.BeatAsync(CancellationToken.None);
            _time.Advance(Interval);
        }

        _broker.Respond = static _ => new HttpResponseMessage(HttpStatusCode.OK);
        await _service.BeatAsync(CancellationToken.None);
        await _service.BeatAsync(CancellationToken.None);

        var entries = _logger.AtOrAbove(LogLevel.Information);
        Assert.Equal(3, entries.Count);
        Assert.Contains("Registered with broker", entries[0].Message, StringComparison.Ordinal);
        Assert.Equal(LogLevel.Warning, entries[1].Level);
        Assert.Contains("503", entries[1].Message, StringComparison.Ordinal);
        Assert.Contains("reachable again after 00:00:20", entries[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BeatAsync_OutageOfSeveralBeatsThenRecovery_DropsNoBindingAndSendsTheWholeLedger()
    {
        _ledger.Bind(new BindRequest("lease-1", 3, "kernel-1", 0, 20480, 25, "ada"));
        _ledger.Bind(new BindRequest("lease-2", 1, "kernel-2", 1, 10240, 10, "grace"));
        await _service.BeatAsync(CancellationToken.None);
        await _broker.NextRequestAsync();

        _broker.Respond = static _ => throw new HttpRequestException("Connection refused (broker.test:5100)");
        for (var beat = 0; beat < 6; beat++)
        {
            await _service.BeatAsync(CancellationToken.None);
            await _broker.NextRequestAsync();
            _time.Advance(Interval);
            Assert.Equal(2, _ledger.Snapshot().Count);
        }

        _broker.Respond = static _ => new HttpResponseMessage(HttpStatusCode.NoContent);
        await _service.BeatAsync(CancellationToken.None);
        var recovered = JsonSerializer.Deserialize<NodeHeartbeat>((await _broker.NextRequestAsync()).Body, JsonSerializerOptions.Web)!;

        Assert.Equal(
            [("lease-1", 3L, "kernel-1", "ada", 0), ("lease-2", 1L, "kernel-2", "grace", 1)],
            recovered.Bindings.Select(b => (b.LeaseId, b.Epoch, b.KernelId, b.Owner, b.Gpu.Index)));
        Assert.Equal(_ledger.Snapshot().Select(b => b.LeaseId), recovered.Bindings.Select(b => b.LeaseId));
        Assert.Contains("reachable again after 00:00:30", _logger.AtOrAbove(LogLevel.Information)[^1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BeatAsync_BrokerRejectsKey_WarningSaysToCheckInternalKey()
    {
        _broker.Respond = static _ => new HttpResponseMessage(HttpStatusCode.Unauthorized);

        await _service.BeatAsync(CancellationToken.None);

        Assert.Contains("Attach:InternalKey", Assert.Single(_logger.AtOrAbove(LogLevel.Warning)).Message, StringComparison.Ordinal);
    }
}
