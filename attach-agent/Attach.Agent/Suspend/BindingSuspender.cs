using System.Globalization;
using Attach.Agent.Gpu;
using Attach.Agent.Slices;
using Attach.Contracts.Pool;

namespace Attach.Agent.Suspend;

/// <summary>
/// Suspends and resumes the process behind a lease: finds the process and its GPU, refuses what cannot work
/// (an unknown lease, no process, another model, an operation already running) with what to do instead, and
/// hands the rest to the node's <see cref="IProcessSuspender"/>. The broker decides when; this executes and
/// reports bytes moved and time taken.
/// </summary>
internal sealed class BindingSuspender(
    SliceLedger ledger, IGpuInventory inventory, IProcessSuspender suspender, LeaseProcesses processes, ILogger<BindingSuspender> logger)
{
    public async Task<SuspendCommandResult> SuspendAsync(string leaseId, SuspendRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(leaseId);
        ArgumentNullException.ThrowIfNull(request);
        var binding = FindBinding(leaseId);
        var known = processes.Find(leaseId);
        if (binding is null && known is null)
        {
            return Refused(SuspendOperation.Suspend, leaseId, request.Pid, NotFound(leaseId));
        }

        if (request.Pid is <= 0)
        {
            return Invalid(SuspendOperation.Suspend, leaseId, request.Pid, "pid", $"pid must be a process id (more than 0); it is {request.Pid}.");
        }

        if ((request.Pid ?? known?.Pid) is not { } pid)
        {
            return Refused(SuspendOperation.Suspend, leaseId, null, new SuspendFailure(SuspendFailureKind.NoProcess,
                $"No process is known for lease '{leaseId}': the kernel never touched CUDA, so there is nothing to suspend; release the lease " +
                $"instead (DELETE /api/v1/bindings/{leaseId}?epoch=N)."));
        }

        var gpu = binding?.Gpu ?? known!.Gpu;
        var sliceMiB = binding?.MemoryMiB ?? known!.SliceMiB;
        if (!processes.TryBegin(leaseId))
        {
            return Refused(SuspendOperation.Suspend, leaseId, pid, Busy(leaseId));
        }

        LeaseProcess? record = null;
        try
        {
            var outcome = await suspender.SuspendAsync(new CudaProcess(pid, gpu, sliceMiB), cancellationToken).ConfigureAwait(false);
            record = new LeaseProcess(leaseId, pid, gpu, sliceMiB, outcome.State ?? known?.State, outcome.Succeeded ? outcome.BytesMoved : known?.HostBytes);
            if (!outcome.Succeeded)
            {
                return Refused(SuspendOperation.Suspend, leaseId, pid, outcome.Failure);
            }

            logger.LeaseProcessSuspended(leaseId, pid, gpu.Index, outcome.BytesMoved, outcome.Elapsed.TotalSeconds, outcome.Simulated);
            return SuspendCommandResult.Success(Result(leaseId, outcome));
        }
        finally
        {
            processes.End(leaseId, record);
        }
    }

    public async Task<SuspendCommandResult> ResumeAsync(string leaseId, ResumeRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(leaseId);
        ArgumentNullException.ThrowIfNull(request);
        var binding = FindBinding(leaseId);
        var known = processes.Find(leaseId) ?? (request.Pid is { } named ? processes.FindByPid(named) : null);
        if (binding is null && known is null)
        {
            return Refused(SuspendOperation.Resume, leaseId, request.Pid, NotFound(leaseId));
        }

        if (request.Pid is <= 0)
        {
            return Invalid(SuspendOperation.Resume, leaseId, request.Pid, "pid", $"pid must be a process id (more than 0); it is {request.Pid}.");
        }

        if ((request.Pid ?? known?.Pid) is not { } pid)
        {
            return Refused(SuspendOperation.Resume, leaseId, null, new SuspendFailure(SuspendFailureKind.NoProcess,
                $"No process is known for lease '{leaseId}': the kernel never touched CUDA and nothing was suspended under this lease, so there " +
                "is nothing to resume."));
        }

        var source = known?.Gpu ?? binding!.Gpu;
        var sliceMiB = known?.SliceMiB ?? binding!.MemoryMiB;
        GpuInfo target;
        if (request.TargetGpuIndex is { } index)
        {
            if (inventory.Gpus.FirstOrDefault(gpu => gpu.Index == index) is not { } requested)
            {
                var indexes = string.Join(", ", inventory.Gpus.Select(gpu => gpu.Index.ToString(CultureInfo.InvariantCulture)));
                return Invalid(SuspendOperation.Resume, leaseId, pid, "targetGpuIndex",
                    $"GPU {index} does not exist on this node; its GPUs are {indexes}. See GET /api/v1/gpus.");
            }

            target = requested;
        }
        else
        {
            target = binding?.Gpu ?? source;
        }

        if (!string.Equals(target.Model, source.Model, StringComparison.Ordinal))
        {
            return Invalid(SuspendOperation.Resume, leaseId, pid, "targetGpuIndex",
                $"GPU {target.Index} is a {target.Model}, but process {pid} was suspended from GPU {source.Index}, a {source.Model}: cuda-checkpoint " +
                $"restores only onto the same GPU model. Resume it on a {source.Model}.");
        }

        if (!processes.TryBegin(leaseId))
        {
            return Refused(SuspendOperation.Resume, leaseId, pid, Busy(leaseId));
        }

        LeaseProcess? record = null;
        try
        {
            var outcome = await suspender.ResumeAsync(new CudaProcess(pid, source, sliceMiB), target, cancellationToken).ConfigureAwait(false);
            if (!outcome.Succeeded)
            {
                record = new LeaseProcess(leaseId, pid, source, sliceMiB, outcome.State ?? known?.State, known?.HostBytes);
                return Refused(SuspendOperation.Resume, leaseId, pid, outcome.Failure);
            }

            record = new LeaseProcess(leaseId, pid, target, sliceMiB, outcome.State, HostBytes: null);
            logger.LeaseProcessResumed(leaseId, pid, target.Index, source.Index, outcome.BytesMoved, outcome.Elapsed.TotalSeconds, outcome.Simulated);
            return SuspendCommandResult.Success(Result(leaseId, outcome));
        }
        finally
        {
            processes.End(leaseId, record);
        }
    }

    private BindingInfo? FindBinding(string leaseId) =>
        ledger.Snapshot().FirstOrDefault(binding => string.Equals(binding.LeaseId, leaseId, StringComparison.Ordinal));

    private static SuspendFailure NotFound(string leaseId) => new(SuspendFailureKind.NotFound,
        $"Lease '{leaseId}' is not bound on this node and no suspended process is recorded for it. List the node's bindings with GET /api/v1/bindings.");

    private static SuspendFailure Busy(string leaseId) => new(SuspendFailureKind.Busy,
        $"A suspend or resume of lease '{leaseId}' is already in progress. Wait for it to finish, then try again.");

    private SuspendCommandResult Refused(SuspendOperation operation, string leaseId, int? pid, SuspendFailure failure)
    {
        logger.LeaseSuspendFailed(operation, leaseId, pid, failure.Kind, failure.Detail);
        return SuspendCommandResult.Failed(failure);
    }

    private SuspendCommandResult Invalid(SuspendOperation operation, string leaseId, int? pid, string field, string message)
    {
        logger.LeaseSuspendFailed(operation, leaseId, pid, SuspendFailureKind.InvalidRequest, message);
        return SuspendCommandResult.Invalid(field, message);
    }

    private static SuspendResumeResult Result(string leaseId, SuspendOutcome outcome)
    {
        var seconds = outcome.Elapsed.TotalSeconds;
        var size = outcome.BytesMoved is { } bytes
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):0.0#} GiB of device memory")
            : "its device memory (size unknown)";
        var time = string.Create(CultureInfo.InvariantCulture, $"{seconds:0.0##} s");
        var gpu = $"GPU {outcome.Gpu.Index} ({outcome.Gpu.DisplayName})";
        var summary = outcome.Operation == SuspendOperation.Suspend
            ? $"Suspended process {outcome.Pid}: {size} copied to host memory in {time}; {gpu} is free."
            : $"Resumed process {outcome.Pid} on {gpu}: {size} restored from host memory in {time}.";
        return new SuspendResumeResult(
            leaseId,
            outcome.Pid,
            outcome.Operation,
            outcome.State ?? CudaProcessState.Running,
            outcome.BytesMoved,
            seconds,
            outcome.Simulated,
            outcome.Gpu,
            outcome.Simulated ? $"Simulated: {summary}" : summary);
    }
}
