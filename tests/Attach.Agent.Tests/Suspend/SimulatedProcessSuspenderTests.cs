using Attach.Agent.Suspend;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Tests.Suspend;

public sealed class SimulatedProcessSuspenderTests
{
    private const int Pid = 4242;
    private static readonly GpuInfo Gpu0 = new(0, "SIM-00000000-0000-0000-0000-000000000000", "A100 80GB", 81920, Simulated: true);
    private static readonly GpuInfo Gpu1 = new(1, "SIM-11111111-1111-1111-1111-111111111111", "A100 80GB", 81920, Simulated: true);

    private readonly TimerSignalingTimeProvider _time = new();

    private SimulatedProcessSuspender Suspender(long? bytes, Action<SimulatedSuspendOptions>? configure = null)
    {
        var options = new SuspendOptions();
        configure?.Invoke(options.Simulated);
        return new SimulatedProcessSuspender(Options.Create(options), new FixedDeviceMemory(bytes), _time);
    }

    /// <summary>Waits until the operation starts its simulated transfer, checks its length and lets it finish.</summary>
    private async Task<SuspendOutcome> CompleteAsync(Task<SuspendOutcome> operation, TimeSpan expected)
    {
        Assert.Equal(expected, await _time.NextTimerAsync());
        Assert.False(operation.IsCompleted);
        _time.Advance(expected);
        return await operation.WaitAsync(TimeSpan.FromSeconds(10));
    }

    // 0.2 s + GiB × 1073741824 B / 50e9 B/s, to the millisecond.
    [Theory]
    [InlineData(1, 221)]
    [InlineData(8, 372)]
    [InlineData(32, 887)]
    public async Task Suspend_DefaultModel_TakesOverheadPlusBytesOverPcieGen5(int gibibytes, int milliseconds)
    {
        var bytes = gibibytes * FixedDeviceMemory.GiB;
        var suspender = Suspender(bytes);

        var outcome = await CompleteAsync(suspender.SuspendAsync(new CudaProcess(Pid, Gpu0, 81920), CancellationToken.None), TimeSpan.FromMilliseconds(milliseconds));

        Assert.True(outcome.Succeeded);
        Assert.True(outcome.Simulated);
        Assert.Equal(CudaProcessState.Checkpointed, outcome.State);
        Assert.Equal(bytes, outcome.BytesMoved);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), outcome.Elapsed);
        Assert.Equal(CudaProcessState.Checkpointed, (await suspender.GetStateAsync(Pid, CancellationToken.None)).State);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(32)]
    public async Task Resume_UsesRestoreBandwidthAndMovesTheSuspendedBytesBack(int gibibytes)
    {
        var bytes = gibibytes * FixedDeviceMemory.GiB;
        var suspender = Suspender(bytes, model =>
        {
            model.RestoreGBps = 25;
            model.FixedOverhead = TimeSpan.FromMilliseconds(100);
        });
        var process = new CudaProcess(Pid, Gpu0, 81920);
        await CompleteAsync(suspender.SuspendAsync(process, CancellationToken.None), SimulatedProcessSuspender.Cost(bytes, 50, TimeSpan.FromMilliseconds(100)));

        var expected = TimeSpan.FromMilliseconds(Math.Round(100 + bytes / 25e6));
        var outcome = await CompleteAsync(suspender.ResumeAsync(process, Gpu1, CancellationToken.None), expected);

        Assert.True(outcome.Succeeded);
        Assert.True(outcome.Simulated);
        Assert.Equal(CudaProcessState.Running, outcome.State);
        Assert.Equal(bytes, outcome.BytesMoved);
        Assert.Equal(Gpu1, outcome.Gpu);
    }

    [Fact]
    public async Task Suspend_MemoryUnknown_TakesTheWholeSlice()
    {
        var outcome = await CompleteAsync(
            Suspender(bytes: null).SuspendAsync(new CudaProcess(Pid, Gpu0, SliceMiB: 1024), CancellationToken.None),
            SimulatedProcessSuspender.Cost(FixedDeviceMemory.GiB, 50, TimeSpan.FromMilliseconds(200)));

        Assert.Equal(FixedDeviceMemory.GiB, outcome.BytesMoved);
    }

    [Fact]
    public async Task Suspend_Twice_RefusedAsTheRealToolWould()
    {
        var suspender = Suspender(FixedDeviceMemory.GiB);
        var process = new CudaProcess(Pid, Gpu0, 1024);
        await CompleteAsync(suspender.SuspendAsync(process, CancellationToken.None), SimulatedProcessSuspender.Cost(FixedDeviceMemory.GiB, 50, TimeSpan.FromMilliseconds(200)));

        var again = await suspender.SuspendAsync(process, CancellationToken.None);

        Assert.Equal(SuspendFailureKind.WrongState, again.Failure?.Kind);
        Assert.Equal(CudaCheckpointErrors.WrongState(CudaCheckpointAction.Lock, Pid, CudaProcessState.Checkpointed).Detail, again.Failure!.Detail);
        Assert.True(again.Simulated);
    }

    [Fact]
    public async Task Resume_RunningProcess_RefusedAsTheRealToolWould()
    {
        var outcome = await Suspender(FixedDeviceMemory.GiB).ResumeAsync(new CudaProcess(Pid, Gpu0, 1024), Gpu0, CancellationToken.None);

        Assert.Equal(SuspendFailureKind.WrongState, outcome.Failure?.Kind);
        Assert.Contains("nothing to resume", outcome.Failure!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Suspend_Cancelled_LeavesTheProcessRunning()
    {
        var suspender = Suspender(FixedDeviceMemory.GiB);
        using var cancellation = new CancellationTokenSource();
        var suspend = suspender.SuspendAsync(new CudaProcess(Pid, Gpu0, 1024), cancellation.Token);
        await _time.NextTimerAsync();

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => suspend);
        Assert.Equal(CudaProcessState.Running, (await suspender.GetStateAsync(Pid, CancellationToken.None)).State);
    }
}
