using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Suspend;

/// <summary>
/// Suspend and resume without a GPU, for development, demos and CI: the same states and transitions as
/// <c>cuda-checkpoint</c> (a process is <c>running</c> until suspended; suspend goes through <c>locked</c> to
/// <c>checkpointed</c>; resume goes back to <c>running</c>; anything else is refused with the same reasons),
/// and the time each takes from a model. Every outcome says it is simulated.
/// </summary>
/// <remarks>
/// <para>The timing model, per operation:</para>
/// <code>
/// time = FixedOverhead + bytes / bandwidth
/// </code>
/// <para>
/// where <c>bandwidth</c> is <see cref="SimulatedSuspendOptions.CheckpointGBps"/> for a suspend (device to host)
/// and <see cref="SimulatedSuspendOptions.RestoreGBps"/> for a resume (host to device), in 10⁹ bytes per second,
/// and <c>bytes</c> is the device memory <see cref="IProcessDeviceMemory"/> reports for the process or, when it
/// reports nothing, the lease's whole slice (a simulated process is taken to fill its slice). A resume moves the
/// bytes its suspend moved. The defaults, a PCIe Gen5 x16 host link at ~50 GB/s effective each way and 0.2 s of
/// fixed overhead (locking, releasing or re-creating contexts and mappings), give 0.221 s for 1 GiB, 0.372 s for
/// 8 GiB and 0.887 s for 32 GiB each way (times are rounded to the millisecond). The wait goes through <see cref="TimeProvider"/>, so tests use a fake
/// clock. docs/simulation.md describes the model and how to calibrate it against a real GPU.
/// </para>
/// </remarks>
internal sealed class SimulatedProcessSuspender(IOptions<SuspendOptions> options, IProcessDeviceMemory memory, TimeProvider timeProvider) : IProcessSuspender
{
    /// <summary>The backend's name.</summary>
    public const string BackendName = "simulated";

    private const long BytesPerMiB = 1024 * 1024;

    private readonly SimulatedSuspendOptions _model = options.Value.Simulated;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, CudaProcessState> _states = [];
    private readonly Dictionary<int, long> _hostBytes = [];

    public string Name => BackendName;

    public bool Simulated => true;

    /// <summary>
    /// The model's time to move <paramref name="bytes"/> at <paramref name="gigabytesPerSecond"/>, rounded to the
    /// millisecond (the resolution of <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>).
    /// </summary>
    public static TimeSpan Cost(long bytes, double gigabytesPerSecond, TimeSpan fixedOverhead) =>
        TimeSpan.FromMilliseconds(Math.Round((fixedOverhead.TotalSeconds + bytes / (gigabytesPerSecond * 1e9)) * 1000, MidpointRounding.AwayFromZero));

    public Task<ProcessStateReport> GetStateAsync(int pid, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return Task.FromResult(new ProcessStateReport(pid, StateOf_NeedsLock(pid), Simulated: true));
        }
    }

    public async Task<SuspendOutcome> SuspendAsync(CudaProcess process, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(process);
        var started = timeProvider.GetTimestamp();
        var pid = process.Pid;
        lock (_lock)
        {
            var state = StateOf_NeedsLock(pid);
            if (state != CudaProcessState.Running)
            {
                return Outcome(SuspendOperation.Suspend, process, process.Gpu, state, null, started, CudaCheckpointErrors.WrongState(CudaCheckpointAction.Lock, pid, state));
            }

            _states[pid] = CudaProcessState.Locked;
        }

        try
        {
            var bytes = await memory.BytesHeldAsync(pid, cancellationToken).ConfigureAwait(false) ?? process.SliceMiB * BytesPerMiB;
            await Task.Delay(Cost(bytes, _model.CheckpointGBps, _model.FixedOverhead), timeProvider, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                _states[pid] = CudaProcessState.Checkpointed;
                _hostBytes[pid] = bytes;
            }

            return Outcome(SuspendOperation.Suspend, process, process.Gpu, CudaProcessState.Checkpointed, bytes, started, failure: null);
        }
        catch (OperationCanceledException)
        {
            // An abandoned suspend leaves the process as it found it.
            lock (_lock)
            {
                _states[pid] = CudaProcessState.Running;
            }

            throw;
        }
    }

    public async Task<SuspendOutcome> ResumeAsync(CudaProcess process, GpuInfo target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(target);
        var started = timeProvider.GetTimestamp();
        var pid = process.Pid;
        long bytes;
        lock (_lock)
        {
            var state = StateOf_NeedsLock(pid);
            if (state != CudaProcessState.Checkpointed)
            {
                return Outcome(SuspendOperation.Resume, process, target, state, null, started, CudaCheckpointErrors.WrongState(CudaCheckpointAction.Restore, pid, state));
            }

            bytes = _hostBytes.GetValueOrDefault(pid, process.SliceMiB * BytesPerMiB);
        }

        // A cancelled restore leaves the process checkpointed, as cuda-checkpoint does when a restore fails.
        await Task.Delay(Cost(bytes, _model.RestoreGBps, _model.FixedOverhead), timeProvider, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _states[pid] = CudaProcessState.Running;
            _hostBytes.Remove(pid);
        }

        return Outcome(SuspendOperation.Resume, process, target, CudaProcessState.Running, bytes, started, failure: null);
    }

    private CudaProcessState StateOf_NeedsLock(int pid) => _states.GetValueOrDefault(pid, CudaProcessState.Running);

    private SuspendOutcome Outcome(
        SuspendOperation operation, CudaProcess process, GpuInfo gpu, CudaProcessState? state, long? bytes, long started, SuspendFailure? failure) =>
        new(operation, process.Pid, state, bytes, timeProvider.GetElapsedTime(started), Simulated: true, gpu, failure);
}
