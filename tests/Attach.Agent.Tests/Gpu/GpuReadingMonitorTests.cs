using Attach.Agent.Gpu;
using Attach.Agent.Slices;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace Attach.Agent.Tests.Gpu;

public sealed class GpuReadingMonitorTests
{
    private static readonly GpuInfo Gpu = new(0, "GPU-d37e67a5-91dd-3774-a5cb-99096249601a", "Tesla T4", 15360, Simulated: false);
    private static readonly GpuReading Reading = new(0, Gpu.Uuid, Simulated: false, 1032, 0, "515.105.01", [], null);

    private readonly FakeTimeProvider _time = new();
    private readonly RecordingLogger<GpuReadingMonitor> _logger = new();
    private readonly IOptions<AgentOptions> _options = Options.Create(new AgentOptions
    {
        NodeId = "node-a",
        BrokerUrl = new Uri("http://broker:5100"),
        AdvertisedUrl = new Uri("http://node-a:5200"),
        HeartbeatInterval = TimeSpan.FromSeconds(5),
    });

    private GpuReadingMonitor Create(IGpuInventory inventory, out SliceLedger ledger)
    {
        ledger = new SliceLedger(inventory, _time, NullLogger<SliceLedger>.Instance);
        return new GpuReadingMonitor(inventory, ledger, _options, _time, _logger);
    }

    [Fact]
    public async Task RefreshAsync_SimulatedPool_ReportsBoundSlicesAsUsage()
    {
        var inventory = new SimulatedGpuInventory("node-a", new SimulatedGpuOptions { GpuCount = 2 }, "because");
        var monitor = Create(inventory, out var ledger);
        Assert.True(ledger.Bind(new BindRequest("lease-1", 1, "kernel-1", 1, 20480, 25)).Succeeded);
        Assert.True(ledger.Bind(new BindRequest("lease-2", 1, "kernel-2", 1, 10240, 50)).Succeeded);

        await monitor.RefreshAsync(CancellationToken.None);

        var latest = monitor.Latest;
        Assert.Equal(_time.GetUtcNow(), latest.ReadAt);
        Assert.Null(latest.Error);
        Assert.All(latest.Gpus, reading => Assert.True(reading.Simulated));
        Assert.Equal((0L, 0), (latest.Gpus[0].MemoryUsedMiB!.Value, latest.Gpus[0].UtilizationPercent!.Value));
        Assert.Equal((30720L, 75), (latest.Gpus[1].MemoryUsedMiB!.Value, latest.Gpus[1].UtilizationPercent!.Value));
    }

    [Fact]
    public async Task RefreshAsync_FailureStreak_KeepsLastReadingAndLogsOnceThenRecovery()
    {
        var inventory = new Mock<IGpuInventory>();
        inventory.Setup(i => i.Backend).Returns(new GpuBackendInfo("nvidia-smi", Simulated: false, "test"));
        inventory.Setup(i => i.Gpus).Returns([Gpu]);
        inventory.SetupSequence(i => i.ReadAsync(It.IsAny<IReadOnlyList<BindingInfo>>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync([Reading])
            .ThrowsAsync(new NvidiaSmiException("nvidia-smi -q -x did not finish within 15 s"))
            .ThrowsAsync(new NvidiaSmiException("nvidia-smi -q -x did not finish within 15 s"))
            .ReturnsAsync([Reading with { MemoryUsedMiB = 2048 }]);
        var monitor = Create(inventory.Object, out _);

        await monitor.RefreshAsync(CancellationToken.None);
        var goodAt = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromSeconds(5));
        await monitor.RefreshAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(5));
        await monitor.RefreshAsync(CancellationToken.None);

        var stale = monitor.Latest;
        Assert.Equal(goodAt, stale.ReadAt);
        Assert.Equal(1032, Assert.Single(stale.Gpus).MemoryUsedMiB);
        Assert.Equal("nvidia-smi -q -x did not finish within 15 s", stale.Error);
        var warning = Assert.Single(_logger.AtOrAbove(LogLevel.Warning));
        Assert.Equal(402, warning.EventId.Id);
        Assert.Single(_logger.Entries, entry => entry.EventId.Id == 403);

        _time.Advance(TimeSpan.FromSeconds(5));
        await monitor.RefreshAsync(CancellationToken.None);

        Assert.Null(monitor.Latest.Error);
        Assert.Equal(2048, Assert.Single(monitor.Latest.Gpus).MemoryUsedMiB);
        var recovered = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 404);
        Assert.Contains("00:00:10", recovered.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Latest_BeforeFirstReading_Empty()
    {
        var monitor = Create(new SimulatedGpuInventory("node-a", new SimulatedGpuOptions(), "because"), out _);

        Assert.Same(GpuReadingSnapshot.None, monitor.Latest);
    }
}
