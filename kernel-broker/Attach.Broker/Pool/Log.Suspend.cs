namespace Attach.Broker;

/// <summary>Log events of suspend-to-host, resume and preemption (1650-1699).</summary>
internal static partial class Log
{
    [LoggerMessage(1650, LogLevel.Information, "Kernel {KernelId}: process {Pid} behind lease {LeaseId} on node {NodeId}, GPU {GpuIndex}, suspended to host memory ({Bytes} bytes) in {Seconds:0.###} s")]
    public static partial void LeaseSuspended(ILogger logger, string kernelId, string leaseId, string nodeId, int gpuIndex, int pid, long? bytes, double seconds);

    [LoggerMessage(1651, LogLevel.Information, "Kernel {KernelId}: nothing to suspend behind lease {LeaseId} ({Detail}); the slice is released instead")]
    public static partial void NothingToSuspend(ILogger logger, string kernelId, string leaseId, string detail);

    [LoggerMessage(1652, LogLevel.Information, "Kernel {KernelId}: process {Pid} resumed from host memory under lease {LeaseId} on node {NodeId}, GPU {GpuIndex} ({Bytes} bytes) in {Seconds:0.###} s")]
    public static partial void LeaseResumed(ILogger logger, string kernelId, string leaseId, string nodeId, int gpuIndex, int pid, long? bytes, double seconds);

    [LoggerMessage(1653, LogLevel.Warning, "Kernel {KernelId} (user {Owner}): suspending lease {LeaseId} failed ({Reason}); the slice is released instead, and the process's GPU state may be lost")]
    public static partial void SuspendFailed(ILogger logger, string kernelId, string owner, string leaseId, string reason);

    [LoggerMessage(1654, LogLevel.Warning, "Kernel {KernelId} (user {Owner}): resuming from host memory failed ({Reason}); it stays suspended and the next GPU cell tries again")]
    public static partial void ResumeFailed(ILogger logger, string kernelId, string owner, string reason);

    [LoggerMessage(1655, LogLevel.Warning, "Kernel {KernelId}: suspended, but lease {LeaseId} could not be unbound ({Reason}); its capacity stays reserved until the agent confirms")]
    public static partial void SuspendedUnbindFailed(ILogger logger, string kernelId, string leaseId, string reason);

    [LoggerMessage(1656, LogLevel.Information, "Batch kernel {KernelId}: lease {LeaseId} on node {NodeId}, GPU {GpuIndex}, is suspended for the interactive request of kernel {WaiterKernelId}; it waits in the queue to resume")]
    public static partial void BatchPreempted(ILogger logger, string kernelId, string leaseId, string waiterKernelId, string nodeId, int gpuIndex);
}
