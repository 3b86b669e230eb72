using Attach.Native.Tests.Support;

namespace Attach.Native.Tests;

/// <summary>Which session a process asks for: ATTACH_SESSION, else the Jupyter kernel it is, else a fresh one of its own.</summary>
public sealed class SessionTests
{
    [Fact]
    public async Task NoSessionAnywhere_AFreshSessionNamedAfterThePid()
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent);
        await using var process = shim.Start(NativeBuild.DirectProgram, "once");

        Assert.Equal(0, await process.ExitCodeAsync());
        Assert.StartsWith($"pid-{process.Pid}", Assert.Single(agent.Connections).Session, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AttachRun_PreloadsTheShimAndNamesARunSession()
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent) { ["LD_PRELOAD"] = null };
        await using var process = shim.Start(NativeBuild.AttachRun, NativeBuild.DirectProgram, "once");

        Assert.True(await process.ExitCodeAsync() == 0, process.Transcript());
        var connection = Assert.Single(agent.Connections);
        Assert.StartsWith("run-", connection.Session, StringComparison.Ordinal);
        Assert.Equal(process.Pid, connection.PeerPid); // exec, not a child
        Assert.Equal(FakeAgent.GpuUuid, Assert.Single(shim.CuInitCalls)["CUDA_VISIBLE_DEVICES"]);
    }

    [Fact]
    public async Task AttachRun_KeepsTheSessionItIsGiven()
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent) { ["LD_PRELOAD"] = null, ["ATTACH_SESSION"] = "train-42" };
        await using var process = shim.Start(NativeBuild.AttachRun, NativeBuild.DirectProgram, "once");

        Assert.True(await process.ExitCodeAsync() == 0, process.Transcript());
        Assert.Equal("train-42", Assert.Single(agent.Connections).Session);
    }
}
