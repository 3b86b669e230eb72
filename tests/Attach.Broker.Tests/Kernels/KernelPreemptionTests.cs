using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Kernels;

/// <summary>
/// Preemption of batch work (<c>Broker:Scheduling:Preemption:Mode=SuspendBatch</c>): the kernel registry, the real lease
/// table, scheduler and binder, an agent that suspends and resumes, and a fake clock. One GPU, so an interactive request
/// waits whenever a batch kernel holds it.
/// </summary>
public sealed class KernelPreemptionTests : IDisposable
{
    private static readonly SliceRequest Interactive = new(80 * GiB, 100);
    private static readonly SliceRequest Batch = new(80 * GiB, 100, Priority: PriorityClass.Batch);

    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly NodeRegistry _nodes;
    private readonly LeaseTable _leases;
    private readonly SuspendingAgent _agent = new();
    private readonly HttpClient _http;
    private readonly KernelRegistry _kernels;

    public KernelPreemptionTests() : this(PreemptionMode.SuspendBatch)
    {
    }

    private KernelPreemptionTests(PreemptionMode mode)
    {
        var options = Options.Create(new BrokerOptions { IdleTimeout = TimeSpan.FromHours(1) });
        var scheduling = Options.Create(new SchedulingOptions
        {
            Preemption = new PreemptionOptions { Mode = mode, OlderThan = TimeSpan.FromMinutes(10), BatchMinimumHold = TimeSpan.FromMinutes(2) },
        });
        _nodes = new NodeRegistry(_time, options);
        _leases = new LeaseTable(_nodes, _time);
        _http = new HttpClient(_agent);
        var binder = new GpuBinder(_leases, new AgentClient(_http), _time, NullLogger<GpuBinder>.Instance);
        _kernels = new KernelRegistry(binder, new RecordingEventPublisher(), _time, options, NullLoggerFactory.Instance, scheduling: scheduling, leases: _leases);
        Beat();
    }

    public void Dispose()
    {
        _kernels.Dispose();
        _http.Dispose();
        _agent.Dispose();
    }

    private void Beat() => _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));

    private static async Task WaitForStateAsync(KernelStateMachine kernel, KernelState state)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Event);
        while (kernel.Status.State != state)
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    /// <summary>A batch kernel running on the GPU for <paramref name="held"/>.</summary>
    private async Task<(KernelStateMachine Kernel, AttachmentInfo Attachment)> RunningBatchAsync(TimeSpan held)
    {
        var batch = _kernels.GetOrAdd("batch-1", "bob")!;
        var outcome = await batch.EnsureAttachedAsync(Batch, "test", CancellationToken.None).WaitAsync(TestTimeouts.Event);
        batch.ReportActivity(KernelActivity.Busy);
        batch.ReportProcess(555);
        _time.Advance(held);
        Beat();
        return (batch, outcome.Attachment!);
    }

    [Fact]
    public async Task InteractiveRequestThatWaits_SuspendsOldBatchWork_WhichResumesWhenTheGpuIsFreeAgain()
    {
        var (batch, held) = await RunningBatchAsync(TimeSpan.FromMinutes(11));
        var interactive = _kernels.GetOrAdd("notebook-1", "ada")!;

        var outcome = await interactive.EnsureAttachedAsync(Interactive, "test", CancellationToken.None).WaitAsync(TestTimeouts.Event);

        Assert.Null(outcome.Error);
        Assert.Equal(held.LeaseId, Assert.Single(_agent.Suspends).LeaseId);
        Assert.Contains(held.LeaseId, _agent.Unbinds);
        await WaitForStateAsync(batch, KernelState.Queued);
        Assert.NotNull(batch.Suspension);
        Assert.Empty(_agent.Resumes);

        await interactive.ReleaseAsync("done", CancellationToken.None);
        await WaitForStateAsync(batch, KernelState.Attached);

        var resume = Assert.Single(_agent.Resumes);
        Assert.Equal(555, resume.Request.Pid);
        Assert.Null(batch.Suspension);
    }

    [Fact]
    public async Task BatchWorkWithNothingToSuspend_IsReleasedAndQueuedAgain()
    {
        _agent.SuspendRefusal = "No process to suspend";
        var (batch, _) = await RunningBatchAsync(TimeSpan.FromMinutes(11));
        var interactive = _kernels.GetOrAdd("notebook-1", "ada")!;

        var outcome = await interactive.EnsureAttachedAsync(Interactive, "test", CancellationToken.None).WaitAsync(TestTimeouts.Event);

        Assert.Null(outcome.Error);
        await WaitForStateAsync(batch, KernelState.Queued);
        Assert.Null(batch.Suspension);
        await interactive.ReleaseAsync("done", CancellationToken.None);
        await WaitForStateAsync(batch, KernelState.Attached);
        Assert.Empty(_agent.Resumes);
    }

    [Fact]
    public async Task YoungBatchWork_IsNotPreempted_AndTheInteractiveRequestWaits()
    {
        var (batch, _) = await RunningBatchAsync(TimeSpan.FromMinutes(1));
        var interactive = _kernels.GetOrAdd("notebook-1", "ada")!;

        var waiting = interactive.EnsureAttachedAsync(Interactive, "test", CancellationToken.None);
        await WaitForStateAsync(interactive, KernelState.Queued);
        await Task.Delay(200);

        Assert.Empty(_agent.Suspends);
        Assert.Equal(KernelState.Attached, batch.Status.State);
        Assert.False(waiting.IsCompleted);
        Assert.True(await interactive.CancelQueuedAsync("test over"));
    }
}
