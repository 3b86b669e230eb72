using Attach.Cli.Run;

namespace Attach.Cli.Tests.Run;

public sealed class RunOptionsTests
{
    [Theory]
    [InlineData("20G", 20480)]
    [InlineData("20g", 20480)]
    [InlineData("20GiB", 20480)]
    [InlineData("20480M", 20480)]
    [InlineData("512", 512)]
    [InlineData("1T", 1048576)]
    public void MemorySize_ReadsWhatTheShimReads(string text, long mib)
    {
        Assert.True(MemorySize.TryParseMiB(text, out var parsed));
        Assert.Equal(mib, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-1G")]
    [InlineData("1.5G")]
    [InlineData("20 G")]
    [InlineData("20X")]
    [InlineData("99999999999")]
    public void MemorySize_RefusesTheRest(string text) => Assert.False(MemorySize.TryParseMiB(text, out _));

    [Fact]
    public void Environment_PutsTheShimFirst_AndKeepsWhatWasPreloaded()
    {
        var variables = RunEnvironment.For("/opt/other.so", "0", "/opt/attach/libattach.so", "s-1", 20480, false, "/run/a.sock");

        Assert.Equal("/opt/attach/libattach.so:/opt/other.so", variables["LD_PRELOAD"]);
        Assert.Equal("s-1", variables["ATTACH_SESSION"]);
        Assert.Equal("20480", variables["ATTACH_MEMORY"]);
        Assert.Equal("0", variables["ATTACH_WAIT"]);
        Assert.Equal("/run/a.sock", variables["ATTACH_AGENT_SOCKET"]);
        Assert.False(variables.ContainsKey("ATTACH_VERBOSE"));
    }

    [Fact]
    public void Environment_SetsOnlyWhatWasAskedFor()
    {
        var variables = RunEnvironment.For(null, null, "/opt/attach/libattach.so", "s-1", null, null, null);

        Assert.Equal(["ATTACH_SESSION", "ATTACH_VERBOSE", "LD_PRELOAD"], variables.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Environment_Batch_SetsTheShimsPriority()
    {
        var variables = RunEnvironment.For(null, null, "/opt/attach/libattach.so", "s-1", null, null, null, batch: true);

        Assert.Equal("batch", variables["ATTACH_PRIORITY"]);
    }

    [Fact]
    public void NewSessionIds_AreFreshAndValid()
    {
        var a = SessionIds.New();
        var b = SessionIds.New();

        Assert.NotEqual(a, b);
        Assert.True(SessionIds.IsValid(a));
    }
}
