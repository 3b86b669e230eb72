using Attach.Agent.Suspend;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Tests.Suspend;

public sealed class CudaCheckpointClientTests : IDisposable
{
    private static readonly GpuInfo Gpu0 = new(0, "GPU-eea0d83f-ebcd-ac27-6b3e-bec2a19724e6", "A100 80GB", 81920, Simulated: false);
    private static readonly GpuInfo Gpu1 = new(1, "GPU-8f4022ba-e0cb-1298-286e-225c953a7feb", "A100 80GB", 81920, Simulated: false);

    // The client checks /proc/<pid> to tell an exited process from one without CUDA: use one that exists.
    private static readonly int Pid = Environment.ProcessId;

    private readonly FakeCudaCheckpoint _tool = new();

    public void Dispose() => _tool.Dispose();

    private static CudaProcess Process(GpuInfo? gpu = null) => new(Pid, gpu ?? Gpu0, 20480);

    private CudaCheckpointClient Client(
        long? bytes = 8 * FixedDeviceMemory.GiB, TimeProvider? time = null, Action<SuspendOptions>? configure = null, string? path = null)
    {
        var options = new SuspendOptions { CudaCheckpointPath = path ?? _tool.Path };
        configure?.Invoke(options);
        return new CudaCheckpointClient(
            Options.Create(options), new ProcessCommandRunner(), new FixedDeviceMemory(bytes), time ?? TimeProvider.System, NullLogger<CudaCheckpointClient>.Instance);
    }

    [Fact]
    public async Task Suspend_RunningProcess_LocksWithTimeoutThenCheckpointsAndReportsBytes()
    {
        _tool.Process(Pid);

        var outcome = await Client().SuspendAsync(Process(), CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Failure?.Detail);
        Assert.Equal(CudaProcessState.Checkpointed, outcome.State);
        Assert.Equal(8 * FixedDeviceMemory.GiB, outcome.BytesMoved);
        Assert.False(outcome.Simulated);
        Assert.Equal(Gpu0, outcome.Gpu);
        Assert.Equal([$"--action lock --pid {Pid} --timeout 10000", $"--action checkpoint --pid {Pid}"], _tool.Actions);
        Assert.Equal("checkpointed", _tool.StateOf(Pid));
    }

    [Fact]
    public async Task Resume_SameGpu_RestoresThenUnlocksWithoutDeviceMap()
    {
        _tool.Process(Pid);
        var client = Client();
        await client.SuspendAsync(Process(), CancellationToken.None);

        var outcome = await client.ResumeAsync(Process(), Gpu0, CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Failure?.Detail);
        Assert.Equal(CudaProcessState.Running, outcome.State);
        Assert.Equal(8 * FixedDeviceMemory.GiB, outcome.BytesMoved);
        Assert.Equal([$"--action restore --pid {Pid}", $"--action unlock --pid {Pid}"], _tool.Actions.Skip(2));
        Assert.DoesNotContain(_tool.Calls, call => call.Contains("--device-map", StringComparison.Ordinal));
        Assert.Equal("running", _tool.StateOf(Pid));
    }

    [Fact]
    public async Task Resume_OtherGpuOfSameModel_PassesDeviceMapOldUuidEqualsNewUuid()
    {
        _tool.Process(Pid, CudaProcessState.Checkpointed);

        var outcome = await Client().ResumeAsync(Process(Gpu0), Gpu1, CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Failure?.Detail);
        Assert.Equal(Gpu1, outcome.Gpu);
        Assert.Equal($"--action restore --pid {Pid} --device-map {Gpu0.Uuid}={Gpu1.Uuid}", _tool.Actions[0]);
    }

    [Fact]
    public async Task Resume_OtherGpuOnDriverWithoutDeviceMap_RefusesBeforeRestoring()
    {
        using var tool = new FakeCudaCheckpoint(FakeCudaCheckpoint.Version570);
        tool.Process(Pid, CudaProcessState.Checkpointed);

        var outcome = await Client(path: tool.Path).ResumeAsync(Process(Gpu0), Gpu1, CancellationToken.None);

        Assert.Equal(SuspendFailureKind.DriverTooOld, outcome.Failure?.Kind);
        Assert.Contains("r580", outcome.Failure!.Detail, StringComparison.Ordinal);
        Assert.Contains("Resume it on GPU 0", outcome.Failure.Detail, StringComparison.Ordinal);
        Assert.Empty(tool.Actions);
        Assert.Equal("checkpointed", tool.StateOf(Pid));
    }

    [Fact]
    public async Task Resume_SameGpuOnDriverWithoutDeviceMap_Works()
    {
        using var tool = new FakeCudaCheckpoint(FakeCudaCheckpoint.Version570);
        tool.Process(Pid, CudaProcessState.Checkpointed);

        var outcome = await Client(path: tool.Path).ResumeAsync(Process(Gpu0), Gpu0, CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Failure?.Detail);
    }

    [Theory]
    [InlineData(CudaProcessState.Running)]
    [InlineData(CudaProcessState.Locked)]
    [InlineData(CudaProcessState.Checkpointed)]
    [InlineData(CudaProcessState.Failed)]
    public async Task GetState_ReadsEveryStateTheToolPrints(CudaProcessState state)
    {
        _tool.Process(Pid, state);

        var report = await Client().GetStateAsync(Pid, CancellationToken.None);

        Assert.True(report.Succeeded, report.Failure?.Detail);
        Assert.Equal(state, report.State);
    }

    [Theory]
    [InlineData(CudaProcessState.Locked, "is already locked")]
    [InlineData(CudaProcessState.Checkpointed, "is already suspended")]
    [InlineData(CudaProcessState.Failed, "in state 'failed'")]
    public async Task Suspend_NotRunning_RefusedWithTheStateItIsIn(CudaProcessState state, string reason)
    {
        _tool.Process(Pid, state);

        var outcome = await Client().SuspendAsync(Process(), CancellationToken.None);

        Assert.Equal(SuspendFailureKind.WrongState, outcome.Failure?.Kind);
        Assert.Contains(reason, outcome.Failure!.Detail, StringComparison.Ordinal);
        Assert.Equal(state, outcome.State);
        Assert.Equal(state.ToString().ToLowerInvariant(), _tool.StateOf(Pid));
    }

    [Theory]
    [InlineData(CudaProcessState.Running, "not suspended: there is nothing to resume")]
    [InlineData(CudaProcessState.Locked, "still on the GPU")]
    public async Task Resume_NotCheckpointed_RefusedWithTheStateItIsIn(CudaProcessState state, string reason)
    {
        _tool.Process(Pid, state);

        var outcome = await Client().ResumeAsync(Process(), Gpu0, CancellationToken.None);

        Assert.Equal(SuspendFailureKind.WrongState, outcome.Failure?.Kind);
        Assert.Contains(reason, outcome.Failure!.Detail, StringComparison.Ordinal);
        Assert.Equal([$"--action restore --pid {Pid}"], _tool.Actions);
    }

    [Fact]
    public async Task Suspend_CheckpointFails_UnlocksAgainSoTheProcessKeepsRunning()
    {
        _tool.Process(Pid);
        _tool.Fail("checkpoint", 2, CudaCheckpointErrors.OutOfMemoryText);

        var outcome = await Client().SuspendAsync(Process(), CancellationToken.None);

        Assert.Equal(SuspendFailureKind.OutOfMemory, outcome.Failure?.Kind);
        Assert.Contains("host has not enough free memory", outcome.Failure!.Detail, StringComparison.Ordinal);
        Assert.Equal(CudaProcessState.Running, outcome.State);
        Assert.Equal($"--action unlock --pid {Pid}", _tool.Actions[^1]);
        Assert.Equal("running", _tool.StateOf(Pid));
    }

    [Fact]
    public async Task Suspend_LockTimesOutInTheTool_ReportsTimeoutAndLeavesProcessRunning()
    {
        _tool.Process(Pid);
        _tool.Fail("lock", 909, CudaCheckpointErrors.TimeoutText);

        var outcome = await Client(configure: options => options.LockTimeout = TimeSpan.FromSeconds(3)).SuspendAsync(Process(), CancellationToken.None);

        Assert.Equal(SuspendFailureKind.Timeout, outcome.Failure?.Kind);
        Assert.Contains("could not be locked within 3 s", outcome.Failure!.Detail, StringComparison.Ordinal);
        Assert.Contains("Agent:Suspend:LockTimeout", outcome.Failure.Detail, StringComparison.Ordinal);
        Assert.Equal(CudaProcessState.Running, outcome.State);
        Assert.Contains("--timeout 3000", _tool.Actions[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Suspend_CheckpointOutlivesTransferTimeout_ToolIsKilledAndProcessUnlocked()
    {
        _tool.Process(Pid);
        _tool.Delay("checkpoint", 60);
        var time = new RearmSignalingTimeProvider();
        var transferTimeout = TimeSpan.FromSeconds(42);
        var client = Client(time: time, configure: options => options.TransferTimeout = transferTimeout);

        var suspend = client.SuspendAsync(Process(), CancellationToken.None);
        await time.WaitForTimerAsync(transferTimeout);

        time.Advance(transferTimeout);
        var outcome = await suspend.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(SuspendFailureKind.Timeout, outcome.Failure?.Kind);
        Assert.Contains("did not finish within 42 s and was stopped", outcome.Failure!.Detail, StringComparison.Ordinal);
        Assert.Equal(CudaProcessState.Running, outcome.State);
        Assert.Equal("running", _tool.StateOf(Pid));
    }

    [Theory]
    [InlineData("/nonexistent/bin/cuda-checkpoint", "there is no such file")]
    [InlineData("cuda-checkpoint-not-installed-anywhere", "not on the agent's PATH")]
    public async Task AnyOperation_ToolMissing_SaysToInstallADriverAndPutItOnPath(string path, string where)
    {
        var client = Client(path: path);

        var outcome = await client.SuspendAsync(Process(), CancellationToken.None);
        var state = await client.GetStateAsync(Pid, CancellationToken.None);

        Assert.Equal(SuspendFailureKind.ToolMissing, outcome.Failure?.Kind);
        Assert.Contains(where, outcome.Failure!.Detail, StringComparison.Ordinal);
        Assert.Contains("NVIDIA driver 550 or newer", outcome.Failure.Detail, StringComparison.Ordinal);
        Assert.Contains("PATH", outcome.Failure.Detail, StringComparison.Ordinal);
        Assert.Equal(SuspendFailureKind.ToolMissing, state.Failure?.Kind);
    }

    [Fact]
    public async Task AnyOperation_ToolNotExecutable_SaysToMakeItExecutable()
    {
        using var tool = new FakeCudaCheckpoint(executable: false);

        var outcome = await Client(path: tool.Path).SuspendAsync(Process(), CancellationToken.None);

        Assert.Equal(SuspendFailureKind.ToolMissing, outcome.Failure?.Kind);
        Assert.Contains("chmod +x", outcome.Failure!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Suspend_DriverWithoutSeparateActions_SaysWhichDriverIsNeeded()
    {
        using var tool = new FakeCudaCheckpoint(FakeCudaCheckpoint.Version550);
        tool.Process(Pid);

        var outcome = await Client(path: tool.Path).SuspendAsync(Process(), CancellationToken.None);

        Assert.Equal(SuspendFailureKind.DriverTooOld, outcome.Failure?.Kind);
        Assert.Contains("550.54.14", outcome.Failure!.Detail, StringComparison.Ordinal);
        Assert.Contains("r555 or newer", outcome.Failure.Detail, StringComparison.Ordinal);
        Assert.Empty(tool.Actions);
    }

    [Fact]
    public async Task Suspend_ProcessWithoutCuda_SaysReleaseTheLeaseInstead()
    {
        var outcome = await Client().SuspendAsync(Process(), CancellationToken.None);

        Assert.Equal(SuspendFailureKind.NotCudaProcess, outcome.Failure?.Kind);
        Assert.Contains("never initialised CUDA", outcome.Failure!.Detail, StringComparison.Ordinal);
        Assert.Contains("release the lease instead", outcome.Failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Suspend_ProcessExited_SaysSo()
    {
        const int exited = 999_999_999;

        var outcome = await Client().SuspendAsync(new CudaProcess(exited, Gpu0, 1024), CancellationToken.None);

        Assert.Equal(SuspendFailureKind.NotCudaProcess, outcome.Failure?.Kind);
        Assert.Contains($"Process {exited} does not exist", outcome.Failure!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resume_TargetGpuOutOfMemory_StaysSuspendedAndSaysWhere()
    {
        _tool.Process(Pid, CudaProcessState.Checkpointed);
        _tool.Fail("restore", 2, CudaCheckpointErrors.OutOfMemoryText);

        var outcome = await Client().ResumeAsync(Process(Gpu0), Gpu1, CancellationToken.None);

        Assert.Equal(SuspendFailureKind.OutOfMemory, outcome.Failure?.Kind);
        Assert.Contains("GPU 1 (A100 80GB) has not enough free device memory", outcome.Failure!.Detail, StringComparison.Ordinal);
        Assert.Equal(CudaProcessState.Checkpointed, outcome.State);
    }

    [Fact]
    public async Task Resume_DeviceMapRejected_SaysResumeOnTheOriginalGpu()
    {
        _tool.Process(Pid, CudaProcessState.Checkpointed);
        _tool.Fail("restore", 1, CudaCheckpointErrors.InvalidValueText);

        var outcome = await Client().ResumeAsync(Process(Gpu0), Gpu1, CancellationToken.None);

        Assert.Equal(SuspendFailureKind.InvalidTarget, outcome.Failure?.Kind);
        Assert.Contains("Resume it on the GPU it was suspended from", outcome.Failure!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Suspend_MemoryUnknown_ReportsBytesAsUnknown()
    {
        _tool.Process(Pid);

        var outcome = await Client(bytes: null).SuspendAsync(Process(), CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Failure?.Detail);
        Assert.Null(outcome.BytesMoved);
    }
}
