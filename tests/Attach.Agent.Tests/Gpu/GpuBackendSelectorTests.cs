using Attach.Agent.Gpu;
using Attach.Agent.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moq;

namespace Attach.Agent.Tests.Gpu;

public sealed class GpuBackendSelectorTests
{
    private readonly Mock<INvidiaDeviceProbe> _probe = new(MockBehavior.Strict);
    private readonly RecordingLogger<GpuBackendSelector> _logger = new();

    private GpuBackendSelector Create(GpuBackendMode mode) =>
        new(Options.Create(new AgentOptions
        {
            NodeId = "node-a",
            Backend = mode,
            BrokerUrl = new Uri("http://broker:5100"),
            AdvertisedUrl = new Uri("http://node-a:5200"),
            Simulated = new SimulatedGpuOptions { GpuCount = 2 },
        }), _probe.Object, _logger);

    private void Probe(bool controlDevice, string? nvidiaSmi)
    {
        _probe.Setup(probe => probe.ControlDeviceExists()).Returns(controlDevice);
        _probe.Setup(probe => probe.FindNvidiaSmi()).Returns(nvidiaSmi);
    }

    [Fact]
    public void Select_AutoWithoutNvidiaDevice_SimulatedWithReason()
    {
        Probe(controlDevice: false, nvidiaSmi: null);

        var inventory = Create(GpuBackendMode.Auto).Select();

        Assert.True(inventory.Backend.Simulated);
        Assert.Equal("simulated", inventory.Backend.Name);
        Assert.Equal("no NVIDIA device found (/dev/nvidiactl absent, nvidia-smi not on PATH)", inventory.Backend.Reason);
        Assert.Equal(2, inventory.Gpus.Count);
        var line = Assert.Single(_logger.AtOrAbove(LogLevel.Information));
        Assert.Contains("simulated", line.Message, StringComparison.Ordinal);
        Assert.Contains("no NVIDIA device found", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_ExplicitSimulated_DoesNotProbeAndSaysWhy()
    {
        var inventory = Create(GpuBackendMode.Simulated).Select();

        Assert.True(inventory.Backend.Simulated);
        Assert.Contains("Agent:Backend", inventory.Backend.Reason, StringComparison.Ordinal);
        _probe.VerifyNoOtherCalls();
    }

    [Theory]
    [InlineData(true, null, "/dev/nvidiactl exists")]
    [InlineData(false, "/usr/bin/nvidia-smi", "nvidia-smi is on PATH at /usr/bin/nvidia-smi")]
    [InlineData(true, "/usr/bin/nvidia-smi", "/dev/nvidiactl exists, nvidia-smi is on PATH")]
    public void Select_AutoWithNvidiaDevice_FailsSayingHowToRunSimulated(bool controlDevice, string? nvidiaSmi, string evidence)
    {
        Probe(controlDevice, nvidiaSmi);

        var exception = Assert.Throws<InvalidOperationException>(() => Create(GpuBackendMode.Auto).Select());

        Assert.Contains("An NVIDIA device was found", exception.Message, StringComparison.Ordinal);
        Assert.Contains(evidence, exception.Message, StringComparison.Ordinal);
        Assert.Contains("not built yet", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Agent__Backend=simulated", exception.Message, StringComparison.Ordinal);
        Assert.Equal(LogLevel.Critical, Assert.Single(_logger.Entries).Level);
    }
}
