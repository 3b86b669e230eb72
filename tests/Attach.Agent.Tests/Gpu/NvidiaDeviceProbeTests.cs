using Attach.Agent.Gpu;

namespace Attach.Agent.Tests.Gpu;

public sealed class NvidiaDeviceProbeTests : IDisposable
{
    private readonly DirectoryInfo _empty = Directory.CreateTempSubdirectory("attach-probe-empty-");
    private readonly DirectoryInfo _withTool = Directory.CreateTempSubdirectory("attach-probe-tool-");

    public NvidiaDeviceProbeTests() => File.WriteAllText(Path.Combine(_withTool.FullName, "nvidia-smi"), "");

    public void Dispose()
    {
        _empty.Delete(recursive: true);
        _withTool.Delete(recursive: true);
    }

    [Fact]
    public void FindOnPath_ToolInLaterDirectory_ReturnsItsPath()
    {
        var path = string.Join(Path.PathSeparator, _empty.FullName, _withTool.FullName);

        Assert.Equal(Path.Combine(_withTool.FullName, "nvidia-smi"), NvidiaDeviceProbe.FindOnPath(path, "nvidia-smi"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void FindOnPath_NoPath_ReturnsNull(string? path)
    {
        Assert.Null(NvidiaDeviceProbe.FindOnPath(path, "nvidia-smi"));
    }

    [Fact]
    public void FindOnPath_ToolAbsent_ReturnsNull()
    {
        Assert.Null(NvidiaDeviceProbe.FindOnPath(_empty.FullName, "nvidia-smi"));
    }
}
