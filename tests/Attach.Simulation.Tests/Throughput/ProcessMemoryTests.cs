using Attach.Simulation.Throughput;

namespace Attach.Simulation.Tests.Throughput;

public sealed class ProcessMemoryTests
{
    [Fact]
    public void StatusLine_InKiB_IsReadAsBytes() => Assert.Equal(123456L * 1024, ProcessMemory.ParseKiB("VmRSS:\t  123456 kB"));

    [Fact]
    public void ResidentMemory_IsReadFromTheProcess()
    {
        var (rss, peak) = ProcessMemory.Read();

        Assert.True(rss > 0);
        Assert.True(peak >= rss);
    }
}
