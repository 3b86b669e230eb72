using Attach.Native.Tests.Support;

namespace Attach.Native.Tests;

/// <summary>Queue positions and the grant are shown on a terminal (or with ATTACH_VERBOSE=1); logs stay quiet otherwise.</summary>
public sealed class QueueDisplayTests
{
    private static readonly FakeAgentBehavior Queue = new() { QueuePositions = [2, 1] };

    [Fact]
    public async Task Verbose_ShowsEachQueuePositionThenTheGrant()
    {
        await using var agent = FakeAgent.Start(Queue);
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "queued", ["ATTACH_VERBOSE"] = "1" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once");

        Assert.Equal(0, await process.ExitCodeAsync());
        Assert.Equal(
            [
                "attach: waiting for a GPU: position 2 in the queue, about 40 s.",
                "attach: waiting for a GPU: position 1 in the queue, about 20 s.",
                "attach: GPU 3 (A100 80GB (simulated), simulated), 20480 MiB, 25% compute, lease lease-1, waited 1.2 s.",
            ],
            process.Errors);
    }

    [Fact]
    public async Task NotATerminal_NothingOnStderrWhenAllGoesWell()
    {
        await using var agent = FakeAgent.Start(Queue);
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "quiet" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once");

        Assert.Equal(0, await process.ExitCodeAsync());
        Assert.Empty(process.Errors);
    }

    [Fact]
    public async Task Terminal_ShowsTheQueue()
    {
        // script(1) runs the program on a pseudo-terminal, as a user's shell would.
        const string Script = "/usr/bin/script";
        Assert.True(File.Exists(Script), $"{Script} (util-linux) is needed for this test");
        await using var agent = FakeAgent.Start(Queue);
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "terminal" };
        await using var process = shim.Start(Script, "-qefc", $"{NativeBuild.DirectProgram} once", "/dev/null");

        Assert.True(await process.ExitCodeAsync() == 0, process.Transcript());
        Assert.Contains(process.Output, line => line.Contains("attach: waiting for a GPU: position 2 in the queue", StringComparison.Ordinal));
        Assert.Contains(process.Output, line => line.Contains("attach: GPU 3 (A100 80GB (simulated)", StringComparison.Ordinal));
    }
}
