using System.Runtime.Versioning;
using Attach.Agent.Gpu;
using Attach.Agent.Tests.Support;
using Moq;

namespace Attach.Agent.Tests.Gpu;

/// <summary>The real process runner, against a stand-in <c>nvidia-smi</c> shell script (POSIX hosts only).</summary>
public sealed class NvidiaSmiProcessTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("attach-nvidia-smi-");
    private readonly Mock<INvidiaDeviceProbe> _probe = new();
    private readonly TimerSignalingTimeProvider _time = new();

    public void Dispose() => _directory.Delete(recursive: true);

    [UnsupportedOSPlatform("windows")]
    private NvidiaSmiProcess WithScript(string body)
    {
        var path = Path.Combine(_directory.FullName, "nvidia-smi");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _probe.Setup(probe => probe.FindNvidiaSmi()).Returns(path);
        return new NvidiaSmiProcess(_probe.Object, _time);
    }

    [Fact]
    public async Task RunAsync_Succeeds_ReturnsStdoutOfTheArgumentsGiven()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var nvidiaSmi = WithScript("printf '%s|' \"$@\"; echo 'ignored on stderr' >&2");

        var output = await nvidiaSmi.RunAsync(["--query-gpu=index,uuid", "--format=csv,noheader,nounits"], CancellationToken.None);

        Assert.Equal("--query-gpu=index,uuid|--format=csv,noheader,nounits|", output);
    }

    [Fact]
    public async Task RunAsync_DriverNotLoaded_ExceptionQuotesNvidiaSmi()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // What nvidia-smi prints, on stdout, when the kernel module is not loaded.
        var nvidiaSmi = WithScript(
            "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\"\n" +
            "exit 9");

        var exception = await Assert.ThrowsAsync<NvidiaSmiException>(() => nvidiaSmi.RunAsync(["-q", "-x"], CancellationToken.None));

        Assert.Contains("-q -x exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Hangs_StoppedAtTheDeadline()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var nvidiaSmi = WithScript("exec sleep 60");

        var run = nvidiaSmi.RunAsync(["-q", "-x"], CancellationToken.None);
        Assert.Equal(nvidiaSmi.Timeout, await _time.NextTimerAsync());
        _time.Advance(nvidiaSmi.Timeout);

        var exception = await Assert.ThrowsAsync<NvidiaSmiException>(() => run);
        Assert.Contains("did not finish within 15 s", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Xid", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_NotOnPath_SaysSo()
    {
        var nvidiaSmi = new NvidiaSmiProcess(_probe.Object, _time);

        var exception = await Assert.ThrowsAsync<NvidiaSmiException>(() => nvidiaSmi.RunAsync(["-q", "-x"], CancellationToken.None));

        Assert.Contains("not on PATH", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_NotExecutable_SaysItCouldNotStart()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var path = Path.Combine(_directory.FullName, "nvidia-smi");
        await File.WriteAllTextAsync(path, "");
        _probe.Setup(probe => probe.FindNvidiaSmi()).Returns(path);

        var exception = await Assert.ThrowsAsync<NvidiaSmiException>(() => new NvidiaSmiProcess(_probe.Object, _time).RunAsync(["-q"], CancellationToken.None));

        Assert.Contains("could not be started", exception.Message, StringComparison.Ordinal);
    }
}
