using Attach.Native.Tests.Support;

namespace Attach.Native.Tests;

/// <summary>ATTACH_HAMI_LIB: HAMi-core's libvgpu.so is loaded after the limits are set and before the real cuInit, and its cuInit comes next in the chain.</summary>
public sealed class HamiChainTests
{
    [Fact]
    public async Task HamiLibrary_IsLoadedGloballyWithTheLimitsSetBeforeTheRealCuInit()
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent)
        {
            ["ATTACH_SESSION"] = "hami",
            ["ATTACH_MEMORY"] = "8G",
            ["ATTACH_HAMI_LIB"] = NativeBuild.FakeHamiLibrary,
        };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once");

        Assert.True(await process.ExitCodeAsync() == 0, process.Transcript());
        var calls = shim.DriverCalls;
        Assert.Equal(["hami-loaded", "hami-cuInit", "cuInit"], calls.Select(call => call.Name));
        Assert.Equal("8192m", calls[0]["CUDA_DEVICE_MEMORY_LIMIT"]);
        Assert.Equal(FakeAgent.SmLimit, calls[0]["CUDA_DEVICE_SM_LIMIT"]);
        Assert.Equal("1", calls[2]["hami"]); // loaded RTLD_GLOBAL: visible to the driver
    }

    [Fact]
    public async Task HamiLibraryMissing_FailsClosedAndGivesTheLeaseBack()
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "hami", ["ATTACH_HAMI_LIB"] = "/nonexistent/libvgpu.so" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once", "hold");

        await process.OutputLineAsync("ready");
        Assert.Contains("cuInit=100", process.Output);
        Assert.StartsWith("attach: cannot load ATTACH_HAMI_LIB", await process.ErrorLineAsync("ATTACH_HAMI_LIB"), StringComparison.Ordinal);
        // Given back while the process still runs.
        await Assert.Single(agent.Connections).Closed.WaitAsync(ShimProcess.Patience);
        Assert.Empty(shim.CuInitCalls);
    }
}
