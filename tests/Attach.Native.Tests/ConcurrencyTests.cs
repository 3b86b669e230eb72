using Attach.Native.Tests.Support;

namespace Attach.Native.Tests;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task ThirtyTwoThreadsCallingCuInitAtOnce_OneRequestAndEveryCallSeesTheVariables()
    {
        await using var agent = FakeAgent.Start(new FakeAgentBehavior { QueuePositions = [1] });
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "threads" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "threads", "32");

        Assert.True(await process.ExitCodeAsync() == 0, process.Transcript());
        Assert.Contains("threads=32 ok=32", process.Output);
        Assert.Equal(1, Assert.Single(agent.Connections).Requests);
        var calls = shim.CuInitCalls;
        Assert.Equal(32, calls.Count);
        Assert.All(calls, call => Assert.Equal(FakeAgent.GpuUuid, call["CUDA_VISIBLE_DEVICES"]));
    }
}
