using Attach.Agent.Suspend;
using Attach.Contracts.Pool;

namespace Attach.Agent;

/// <summary>Log events of suspend to host and resume (5xx).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Information,
        Message = "Suspend backend {Backend} (simulated: {Simulated}): {Reason}")]
    public static partial void SuspendBackendSelected(this ILogger logger, string backend, bool simulated, string reason);

    [LoggerMessage(EventId = 501, Level = LogLevel.Information,
        Message = "cuda-checkpoint {Path} (version {Version}): separate actions {SupportsActions}, device map {SupportsDeviceMap}")]
    public static partial void CudaCheckpointFound(this ILogger logger, string path, string? version, bool supportsActions, bool supportsDeviceMap);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning,
        Message = "cuda-checkpoint is not usable: {Detail}")]
    public static partial void CudaCheckpointUnusable(this ILogger logger, string detail);

    [LoggerMessage(EventId = 503, Level = LogLevel.Debug,
        Message = "cuda-checkpoint {Arguments} exited with {ExitCode} after {Elapsed}: {Output}")]
    public static partial void CudaCheckpointRan(this ILogger logger, string arguments, int exitCode, TimeSpan elapsed, string output);

    [LoggerMessage(EventId = 504, Level = LogLevel.Error,
        Message = "cuda-checkpoint {Arguments} did not finish within {Timeout} and was killed; the process's CUDA state may be inconsistent")]
    public static partial void CudaCheckpointKilled(this ILogger logger, string arguments, TimeSpan timeout);

    [LoggerMessage(EventId = 505, Level = LogLevel.Warning,
        Message = "Checkpoint of process {Pid} failed after its lock; unlocked it again so it keeps running (state now {State})")]
    public static partial void SuspendRolledBack(this ILogger logger, int pid, CudaProcessState? state);

    [LoggerMessage(EventId = 506, Level = LogLevel.Information,
        Message = "Suspended lease {LeaseId}: process {Pid} on GPU {GpuIndex}, {Bytes} bytes to host memory in {Seconds:0.###} s (simulated: {Simulated})")]
    public static partial void LeaseProcessSuspended(this ILogger logger, string leaseId, int pid, int gpuIndex, long? bytes, double seconds, bool simulated);

    [LoggerMessage(EventId = 507, Level = LogLevel.Information,
        Message = "Resumed lease {LeaseId}: process {Pid} onto GPU {GpuIndex} (suspended from GPU {SourceGpuIndex}), {Bytes} bytes in {Seconds:0.###} s (simulated: {Simulated})")]
    public static partial void LeaseProcessResumed(this ILogger logger, string leaseId, int pid, int gpuIndex, int sourceGpuIndex, long? bytes, double seconds, bool simulated);

    [LoggerMessage(EventId = 508, Level = LogLevel.Warning,
        Message = "{Operation} of lease {LeaseId} (process {Pid}) refused or failed: {Failure}: {Detail}")]
    public static partial void LeaseSuspendFailed(this ILogger logger, SuspendOperation operation, string leaseId, int? pid, SuspendFailureKind failure, string detail);
}
