using Attach.Native.Tests.Support;

namespace Attach.Native.Tests;

/// <summary>Every way a program reaches the driver's cuInit goes through the shim first: one lease request, then the real cuInit with the variables set.</summary>
public sealed class CuInitInterceptionTests
{
    [Fact]
    public async Task LinkedProgram_OneRequestAndTheVariablesAreSetBeforeTheRealCuInit()
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "script-1", ["ATTACH_MEMORY"] = "20G" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once");

        Assert.Equal(0, await process.ExitCodeAsync());
        Assert.Contains("cuInit=0", process.Output);
        await agent.AllClosedAsync();
        var connection = Assert.Single(agent.Connections);
        Assert.Equal(1, connection.Requests);
        Assert.Equal(process.Pid, connection.PeerPid);
        Assert.Equal("1", connection.Hello!["version"]);
        Assert.Equal("script-1", connection.Session);
        Assert.StartsWith("libattach/", connection.Hello["client"], StringComparison.Ordinal);
        Assert.Equal("20480", connection.Request!["memory_mib"]);
        Assert.Equal("1", connection.Request["wait"]);

        var cuInit = Assert.Single(shim.CuInitCalls);
        Assert.Equal(FakeAgent.GpuUuid, cuInit["CUDA_VISIBLE_DEVICES"]);
        Assert.Equal("20480m", cuInit["CUDA_DEVICE_MEMORY_LIMIT"]);
        Assert.Equal(FakeAgent.SmLimit, cuInit["CUDA_DEVICE_SM_LIMIT"]);
        Assert.Equal(connection.LeaseId, cuInit["ATTACH_LEASE_ID"]);
        Assert.Equal(process.Pid, cuInit.Pid);
    }

    [Theory]
    [InlineData("batch", "batch")]
    [InlineData("interactive", "interactive")]
    [InlineData(null, null)]
    public async Task AttachPriority_IsSentWithTheRequest_OnlyWhenSet(string? variable, string? field)
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "script-2" };
        if (variable is not null)
        {
            shim["ATTACH_PRIORITY"] = variable;
        }

        await using var process = shim.Start(NativeBuild.DirectProgram, "once");

        Assert.True(await process.ExitCodeAsync() == 0, process.Transcript());
        await agent.AllClosedAsync();
        Assert.Equal(field, Assert.Single(agent.Connections).Request!.GetValueOrDefault("priority"));
    }

    [Theory]
    [InlineData("dlsym-handle")]
    [InlineData("dlsym-default")]
    [InlineData("getproc")]
    [InlineData("getproc-v2")]
    public async Task ProgramThatLoadsTheDriverItself_IsInterceptedWhicheverWayItFindsCuInit(string way)
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "dynamic" };
        await using var process = shim.Start(NativeBuild.DynamicProgram, way);

        Assert.True(await process.ExitCodeAsync() == 0, process.Transcript());
        Assert.Contains("cuInit=0", process.Output);
        Assert.Equal(1, Assert.Single(agent.Connections).Requests);
        var cuInit = Assert.Single(shim.CuInitCalls);
        Assert.Equal(FakeAgent.GpuUuid, cuInit["CUDA_VISIBLE_DEVICES"]);
        Assert.Equal("20480m", cuInit["CUDA_DEVICE_MEMORY_LIMIT"]);
    }

    [Fact]
    public async Task PythonCtypes_IsInterceptedAndTakesItsSessionFromTheKernelConnectionFile()
    {
        const string Python = "/usr/bin/python3";
        Assert.True(File.Exists(Python), $"{Python} is needed for this test");
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent);
        var kernelId = Guid.NewGuid().ToString();
        await using var process = shim.Start(Python, NativeBuild.CtypesProgram, "-f", $"/tmp/jupyter/runtime/kernel-{kernelId}.json");

        Assert.True(await process.ExitCodeAsync() == 0, process.Transcript());
        Assert.Contains("cuInit=0", process.Output);
        var connection = Assert.Single(agent.Connections);
        Assert.Equal(kernelId, connection.Session);
        Assert.Equal(1, connection.Requests);
        Assert.Equal(FakeAgent.GpuUuid, Assert.Single(shim.CuInitCalls)["CUDA_VISIBLE_DEVICES"]);
    }

    [Fact]
    public async Task CuInitCalledAgain_NoSecondRequest()
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "twice" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "twice");

        Assert.Equal(0, await process.ExitCodeAsync());
        Assert.Contains("cuInit=0 cuInit=0", process.Output);
        Assert.Equal(1, Assert.Single(agent.Connections).Requests);
        Assert.Equal(2, shim.CuInitCalls.Count);
    }

    [Fact]
    public async Task RtldNextFromTheProgram_StillMeansAfterTheProgram()
    {
        // The program is linked against the driver and the shim is preloaded: the definition after the program is
        // the shim's. Were the shim's dlsym to pass its own position on, the driver's cuInit would come back and
        // run without a lease.
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "next" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "rtld-next");

        Assert.Equal(0, await process.ExitCodeAsync());
        Assert.Equal(1, Assert.Single(agent.Connections).Requests);
        Assert.Equal(FakeAgent.GpuUuid, Assert.Single(shim.CuInitCalls)["CUDA_VISIBLE_DEVICES"]);
    }

    [Fact]
    public async Task ProcessThatNeverCallsCuInit_NeverContactsTheAgent()
    {
        // Python's ctypes finds getpid through dlsym: the interposed dlsym passes every other name through.
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent);
        await using var process = shim.Start("/usr/bin/python3", "-c", "import ctypes, os; assert ctypes.CDLL(None).getpid() == os.getpid(); print('ok')");

        Assert.True(await process.ExitCodeAsync() == 0, process.Transcript());
        Assert.Contains("ok", process.Output);
        Assert.Empty(process.Errors);
        Assert.Empty(agent.Connections);
    }
}
