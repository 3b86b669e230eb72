using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Kernels;

/// <summary>
/// Idle suspend-to-host and resume: the kernel registry, the real lease table and binder, an agent that suspends and
/// resumes (over HTTP, in memory) and a fake clock.
/// </summary>
public sealed class KernelSuspendTests : IDisposable
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);
    private static readonly SliceRequest Whole = new(80 * GiB, 100);

    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly NodeRegistry _nodes;
    private readonly LeaseTable _leases;
    private readonly SuspendingAgent _agent = new();
    private readonly HttpClient _http;
    private readonly RecordingEventPublisher _events = new();
    private readonly KernelRegistry _kernels;

    public KernelSuspendTests()
    {
        var options = Options.Create(new BrokerOptions { IdleTimeout = IdleTimeout });
        _nodes = new NodeRegistry(_time, options);
        _leases = new LeaseTable(_nodes, _time);
        _http = new HttpClient(_agent);
        var binder = new GpuBinder(_leases, new AgentClient(_http), _time, NullLogger<GpuBinder>.Instance);
        _kernels = new KernelRegistry(binder, _events, _time, options, NullLoggerFactory.Instance);
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80), Gpu(1, 80)]));
    }

    public void Dispose()
    {
        _kernels.Dispose();
        _http.Dispose();
        _agent.Dispose();
    }

    private async Task<AttachmentInfo> AttachAsync(string kernelId)
    {
        var outcome = await _kernels.GetOrAdd(kernelId, "ada")!.EnsureAttachedAsync(Whole, "test", CancellationToken.None).WaitAsync(TestTimeouts.Event);
        return outcome.Attachment ?? throw new InvalidOperationException(outcome.Error);
    }

    private static async Task<KernelStatus> WaitForStateAsync(KernelStateMachine kernel, KernelState state)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Event);
        while (kernel.Status.State != state)
        {
            await Task.Delay(5, timeout.Token);
        }

        return kernel.Status;
    }

    private async Task<KernelStatus> SuspendByIdlingAsync(KernelStateMachine kernel)
    {
        _time.Advance(IdleTimeout);
        var status = await WaitForStateAsync(kernel, KernelState.Suspended);
        // The clock moved past the node's staleness limit: it sends a heartbeat, as a live agent would have.
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80), Gpu(1, 80)]));
        return status;
    }

    [Fact]
    public async Task IdleKernelWithCudaState_IsSuspendedToHostMemory_AndItsSliceGoesBackToThePool()
    {
        var attachment = await AttachAsync("kernel-1");
        var kernel = _kernels.Find("kernel-1", "ada")!;
        kernel.ReportProcess(777);

        var status = await SuspendByIdlingAsync(kernel);

        var suspend = Assert.Single(_agent.Suspends);
        Assert.Equal(attachment.LeaseId, suspend.LeaseId);
        Assert.Equal(777, suspend.Request.Pid);
        Assert.Equal([attachment.LeaseId], _agent.Unbinds);
        Assert.Empty(_leases.Snapshot());
        Assert.Equal(3L * 1024 * 1024 * 1024, status.SuspendedBytes);
        Assert.Null(status.Attachment);
        Assert.Contains("3.0 GiB kept in host memory", status.Reason, StringComparison.Ordinal);
        Assert.Equal(
            [(KernelState.Attached, KernelState.Suspending), (KernelState.Suspending, KernelState.Suspended)],
            _events.Events.Where(e => e.From != e.To).Skip(2).Select(e => (e.From, e.To)));
        var suspension = kernel.Suspension!;
        Assert.Equal(("node-a", attachment.GpuIndex, 777), (suspension.NodeId, suspension.GpuIndex, suspension.Pid));
    }

    [Theory]
    [InlineData("No process to suspend")]
    [InlineData("The process has no CUDA state")]
    public async Task IdleKernelWithNothingToSuspend_IsReleasedAsBefore(string refusal)
    {
        _agent.SuspendRefusal = refusal;
        var attachment = await AttachAsync("kernel-1");
        var kernel = _kernels.Find("kernel-1", "ada")!;

        _time.Advance(IdleTimeout);
        var status = await WaitForStateAsync(kernel, KernelState.Detached);

        Assert.Single(_agent.Suspends);
        Assert.Equal([attachment.LeaseId], _agent.Unbinds);
        Assert.Empty(_leases.Snapshot());
        Assert.Null(status.SuspendedBytes);
        Assert.Null(kernel.Suspension);
        var releasing = await _events.WaitForAsync(KernelState.Releasing);
        Assert.Equal(KernelState.Suspending, releasing.From);
        Assert.Contains("holds no GPU state", releasing.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdleKernelWhoseSuspendFails_IsReleasedWithTheReason()
    {
        _agent.SuspendRefusal = "The driver cannot checkpoint this process";
        await AttachAsync("kernel-1");
        var kernel = _kernels.Find("kernel-1", "ada")!;

        _time.Advance(IdleTimeout);
        await WaitForStateAsync(kernel, KernelState.Detached);

        var releasing = await _events.WaitForAsync(KernelState.Releasing);
        Assert.Contains("could not be suspended", releasing.Reason, StringComparison.Ordinal);
        Assert.Empty(_leases.Snapshot());
    }

    [Fact]
    public async Task NextGpuCellOfASuspendedKernel_ResumesItOnTheGpuItLeft()
    {
        var other = await AttachAsync("kernel-2");
        var left = await AttachAsync("kernel-1");
        Assert.NotEqual(other.GpuIndex, left.GpuIndex);
        var kernel = _kernels.Find("kernel-1", "ada")!;
        kernel.ReportProcess(777);
        await SuspendByIdlingAsync(kernel);
        // Both GPUs are free now; the resume still goes back to the one the process left.
        await _kernels.Find("kernel-2", "ada")!.ReleaseAsync("test", CancellationToken.None);
        Assert.Empty(_leases.Snapshot());

        var outcome = await kernel.EnsureAttachedAsync(Whole, "test", CancellationToken.None).WaitAsync(TestTimeouts.Event);

        Assert.Null(outcome.Error);
        Assert.Equal(left.GpuIndex, outcome.Attachment!.GpuIndex);
        var resume = Assert.Single(_agent.Resumes);
        Assert.Equal(outcome.Attachment.LeaseId, resume.LeaseId);
        Assert.Equal(new ResumeRequest(777, left.GpuIndex), resume.Request);
        var status = kernel.Status;
        Assert.Equal(KernelState.Attached, status.State);
        Assert.Null(status.SuspendedBytes);
        Assert.Null(kernel.Suspension);
        Assert.StartsWith("resumed from host memory in 0.75 s", status.Reason, StringComparison.Ordinal);
        var resuming = await _events.WaitForAsync(KernelState.Resuming);
        Assert.Equal(KernelState.Suspended, resuming.From);
        Assert.Contains(_events.Events, e => e.From == KernelState.Resuming && e.To == KernelState.Attached);
    }

    [Fact]
    public async Task SuspendedKernelWhoseNodeIsFull_WaitsInTheQueue_AndResumesWhenASliceFrees()
    {
        await AttachAsync("kernel-1");
        var kernel = _kernels.Find("kernel-1", "ada")!;
        await SuspendByIdlingAsync(kernel);
        await AttachAsync("kernel-2");
        await AttachAsync("kernel-3");

        var resuming = kernel.EnsureAttachedAsync(Whole, "test", CancellationToken.None);
        await WaitForStateAsync(kernel, KernelState.Queued);
        Assert.Empty(_agent.Resumes);
        await _kernels.Find("kernel-3", "ada")!.ReleaseAsync("test", CancellationToken.None);
        var outcome = await resuming.WaitAsync(TestTimeouts.Event);

        Assert.Null(outcome.Error);
        Assert.Single(_agent.Resumes);
        Assert.Equal(KernelState.Attached, kernel.Status.State);
    }

    [Fact]
    public async Task SuspendedKernelThatLeavesTheQueue_StaysSuspended()
    {
        await AttachAsync("kernel-1");
        var kernel = _kernels.Find("kernel-1", "ada")!;
        await SuspendByIdlingAsync(kernel);
        await AttachAsync("kernel-2");
        await AttachAsync("kernel-3");

        var resuming = kernel.EnsureAttachedAsync(Whole, "test", CancellationToken.None);
        await WaitForStateAsync(kernel, KernelState.Queued);
        Assert.True(await kernel.CancelQueuedAsync("the cell was interrupted"));

        var status = kernel.Status;
        Assert.Equal(KernelState.Suspended, status.State);
        Assert.NotNull(status.SuspendedBytes);
        Assert.NotNull(kernel.Suspension);
        Assert.Null((await resuming).Attachment);
    }
}
