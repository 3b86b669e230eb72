using Attach.Native.Tests.Support;

namespace Attach.Native.Tests;

/// <summary>The connection is the lease: held while the process lives, ended by the kernel however the process ends.</summary>
public sealed class LeaseLifetimeTests
{
    [Fact]
    public async Task ProcessExit_EndsTheLease()
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "exit" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once", "hold");
        await process.OutputLineAsync("ready");
        var connection = Assert.Single(agent.Connections);
        Assert.False(connection.IsClosed, "the lease ended while the process was still running");

        process.CloseInput();

        Assert.Equal(0, await process.ExitCodeAsync());
        await connection.Closed.WaitAsync(ShimProcess.Patience);
    }

    [Fact]
    public async Task SigKill_EndsTheLease()
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "killed" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once", "hold");
        await process.OutputLineAsync("ready");
        var connection = Assert.Single(agent.Connections);
        Assert.False(connection.IsClosed);

        process.Kill();

        await connection.Closed.WaitAsync(ShimProcess.Patience);
        Assert.Equal(1, connection.Requests);
    }

    [Fact]
    public async Task Fork_TheChildMakesItsOwnRequestAndTheParentsExitEndsOnlyTheParentsLease()
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent);
        await using var process = shim.Start(NativeBuild.DirectProgram, "fork");
        var childLine = await process.OutputLineAsync("child pid=");

        Assert.EndsWith("cuInit=0", childLine, StringComparison.Ordinal);
        Assert.Contains($"parent pid={process.Pid} cuInit=0", process.Output);
        var connections = agent.Connections;
        Assert.Equal(2, connections.Count);
        var parent = Assert.Single(connections, connection => connection.PeerPid == process.Pid);
        var child = Assert.Single(connections, connection => connection.PeerPid != process.Pid);
        Assert.Equal(1, parent.Requests);
        Assert.Equal(1, child.Requests);
        // The parent's session was fresh; the shim exported it, so the child works for the same session.
        Assert.Equal(parent.Session, child.Session);

        // The parent exits while its child lives on: had the child kept a copy of the parent's connection, the
        // parent's lease would outlive it.
        await process.OutputLineAsync("parent-exiting");
        await parent.Closed.WaitAsync(ShimProcess.Patience);
        await process.OutputLineAsync("ready");
        Assert.False(child.IsClosed, "the child's lease ended with its parent");

        process.CloseInput();

        await child.Closed.WaitAsync(ShimProcess.Patience);
        Assert.Equal(0, await process.ExitCodeAsync());
        Assert.Equal(2, shim.CuInitCalls.Count);
    }

    [Fact]
    public async Task Revoke_IsToldAndTheProcessKeepsRunning()
    {
        await using var agent = FakeAgent.Start(new FakeAgentBehavior { RevokeReason = "idle for 5 min" });
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "revoked" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once", "hold");

        var told = await process.ErrorLineAsync("revoked");

        Assert.StartsWith("attach: ", told, StringComparison.Ordinal);
        Assert.Contains("lease-1", told, StringComparison.Ordinal);
        Assert.Contains("idle for 5 min", told, StringComparison.Ordinal);
        Assert.Contains("keeps its CUDA context", told, StringComparison.Ordinal);
        await process.OutputLineAsync("ready");
        process.CloseInput();
        Assert.Equal(0, await process.ExitCodeAsync());
    }
}
