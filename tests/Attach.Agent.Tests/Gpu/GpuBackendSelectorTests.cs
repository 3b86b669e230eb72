using Attach.Agent.Gpu;
using Attach.Agent.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moq;

namespace Attach.Agent.Tests.Gpu;

public sealed class GpuBackendSelectorTests
{
    private const string NvidiaSmiPath = "/usr/bin/nvidia-smi";

    private readonly Mock<INvidiaDeviceProbe> _probe = new(MockBehavior.Strict);
    private readonly RecordedNvidiaSmi _nvidiaSmi = new(NvidiaSmiFixtures.Read("nvidia-gpu-exporter-h200-mig-580.173.02.csv"), RecordedNvidiaSmi.EmptyLog);
    private readonly RecordingLogger<GpuBackendSelector> _logger = new();

    private GpuBackendSelector Create(GpuBackendMode mode) =>
        new(Options.Create(new AgentOptions
        {
            NodeId = "node-a",
            Backend = mode,
            BrokerUrl = new Uri("http://broker:5100"),
            AdvertisedUrl = new Uri("http://node-a:5200"),
            Simulated = new SimulatedGpuOptions { GpuCount = 2 },
        }), _probe.Object, _nvidiaSmi, _logger);

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
        Assert.Equal(0, _nvidiaSmi.Calls);
    }

    [Fact]
    public void Select_ExplicitSimulated_DoesNotProbeAndSaysWhy()
    {
        var inventory = Create(GpuBackendMode.Simulated).Select();

        Assert.True(inventory.Backend.Simulated);
        Assert.Contains("Agent:Backend", inventory.Backend.Reason, StringComparison.Ordinal);
        _probe.VerifyNoOtherCalls();
        Assert.Equal(0, _nvidiaSmi.Calls);
    }

    [Theory]
    [InlineData(true, "/dev/nvidiactl exists, nvidia-smi is on PATH at /usr/bin/nvidia-smi")]
    [InlineData(false, "nvidia-smi is on PATH at /usr/bin/nvidia-smi")]
    public void Select_AutoWithNvidiaDevice_RealGpusLoggedWithWhy(bool controlDevice, string evidence)
    {
        Probe(controlDevice, NvidiaSmiPath);

        var inventory = Create(GpuBackendMode.Auto).Select();

        Assert.IsType<NvidiaSmiGpuInventory>(inventory);
        Assert.False(inventory.Backend.Simulated);
        Assert.Equal("nvidia-smi", inventory.Backend.Name);
        Assert.Equal($"{evidence}; nvidia-smi lists 1 GPU(s), driver 580.173.02", inventory.Backend.Reason);
        var gpu = Assert.Single(inventory.Gpus);
        Assert.False(gpu.Simulated);
        Assert.Equal("NVIDIA H200", gpu.Model);
        var line = Assert.Single(_logger.AtOrAbove(LogLevel.Information));
        Assert.Equal(100, line.EventId.Id);
        Assert.Contains("GPU backend nvidia-smi (simulated: False) with 1 × NVIDIA H200", line.Message, StringComparison.Ordinal);
        Assert.Contains(evidence, line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_ExplicitNvidiaWithoutControlDevice_RealGpus()
    {
        Probe(controlDevice: false, NvidiaSmiPath);

        var inventory = Create(GpuBackendMode.Nvidia).Select();

        Assert.False(inventory.Backend.Simulated);
        Assert.StartsWith("Agent:Backend is \"nvidia\"", inventory.Backend.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auto", true, "/dev/nvidiactl exists")]
    [InlineData("nvidia", false, "Agent:Backend is \"nvidia\"")]
    [InlineData("nvidia", true, "Agent:Backend is \"nvidia\"")]
    public void Select_NvidiaCalledForWithoutNvidiaSmi_FailsSayingWhatToCheck(string mode, bool controlDevice, string evidence)
    {
        Probe(controlDevice, nvidiaSmi: null);

        var exception = Assert.Throws<InvalidOperationException>(() => Create(Enum.Parse<GpuBackendMode>(mode, ignoreCase: true)).Select());

        Assert.Contains($"The NVIDIA GPU backend cannot start ({evidence})", exception.Message, StringComparison.Ordinal);
        Assert.Contains("nvidia-smi is not on PATH", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Agent__Backend=simulated", exception.Message, StringComparison.Ordinal);
        var line = Assert.Single(_logger.Entries);
        Assert.Equal((LogLevel.Critical, 400), (line.Level, line.EventId.Id));
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("nvidia")]
    public void Select_DeviceButNvidiaSmiFails_FailsWithItsMessageAndWhatToCheck(string mode)
    {
        Probe(controlDevice: true, NvidiaSmiPath);
        _nvidiaSmi.Failure = "/usr/bin/nvidia-smi --query-gpu=… exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";

        var exception = Assert.Throws<InvalidOperationException>(() => Create(Enum.Parse<GpuBackendMode>(mode, ignoreCase: true)).Select());

        Assert.Contains("couldn't communicate with the NVIDIA driver", exception.Message, StringComparison.Ordinal);
        Assert.Contains("lsmod | grep nvidia", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Agent__Backend=simulated", exception.Message, StringComparison.Ordinal);
        Assert.IsType<NvidiaSmiException>(exception.InnerException);
        Assert.Equal(LogLevel.Critical, Assert.Single(_logger.Entries).Level);
    }

    [Fact]
    public void Select_DeviceButNoGpuListed_Fails()
    {
        Probe(controlDevice: true, NvidiaSmiPath);
        var selector = new GpuBackendSelector(
            Options.Create(new AgentOptions { NodeId = "node-a", BrokerUrl = new Uri("http://b:1"), AdvertisedUrl = new Uri("http://a:1") }),
            _probe.Object, new RecordedNvidiaSmi("", RecordedNvidiaSmi.EmptyLog), _logger);

        var exception = Assert.Throws<InvalidOperationException>(selector.Select);

        Assert.Contains("lists no GPU", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_AutoNvidiaSmiFailsWithoutControlDevice_SimulatedWithWarning()
    {
        Probe(controlDevice: false, NvidiaSmiPath);
        _nvidiaSmi.Failure = "exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";

        var inventory = Create(GpuBackendMode.Auto).Select();

        Assert.True(inventory.Backend.Simulated);
        Assert.Equal("nvidia-smi at /usr/bin/nvidia-smi failed and /dev/nvidiactl is absent: no usable NVIDIA device", inventory.Backend.Reason);
        var warning = Assert.Single(_logger.Entries, entry => entry.Level == LogLevel.Warning);
        Assert.Equal(401, warning.EventId.Id);
        Assert.Contains("couldn't communicate", warning.Message, StringComparison.Ordinal);
    }
}
