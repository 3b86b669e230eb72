namespace Attach.Agent;

/// <summary>Log events of containers through the Docker engine (700–749).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Information,
        Message = "Containers are disabled (Agent:Containers:Enabled is false); the containers API answers 503")]
    public static partial void ContainersDisabled(this ILogger logger);

    [LoggerMessage(EventId = 701, Level = LogLevel.Warning,
        Message = "Containers are unavailable: {Detail} The agent runs on; the containers API answers 503 until the engine is reachable")]
    public static partial void DockerUnavailable(this ILogger logger, string detail);

    [LoggerMessage(EventId = 702, Level = LogLevel.Information,
        Message = "Docker engine {Version} (API {ApiVersion}) at {DockerUri}")]
    public static partial void DockerEngineFound(this ILogger logger, string version, string apiVersion, Uri dockerUri);

    [LoggerMessage(EventId = 703, Level = LogLevel.Information,
        Message = "Started container {ContainerId} ({Name}) from {Image} for lease {LeaseId} (epoch {Epoch}, kernel {KernelId}) on GPU {GpuIndex} {GpuUuid}: {GpuAccess}; memory limit {MemoryMiB} MiB, CPU limit {Cpus}")]
    public static partial void ContainerStarted(this ILogger logger, string containerId, string name, string image, string leaseId, long epoch, string kernelId,
        int gpuIndex, string gpuUuid, string gpuAccess, long? memoryMiB, double? cpus);

    [LoggerMessage(EventId = 704, Level = LogLevel.Warning,
        Message = "Container {ContainerId} for lease {LeaseId} was created but did not start; removed it again: {Failure}")]
    public static partial void ContainerStartFailed(this ILogger logger, string containerId, string leaseId, string failure);

    [LoggerMessage(EventId = 705, Level = LogLevel.Information,
        Message = "Stopped container {ContainerId} of lease {LeaseId} (grace period {StopTimeout}; it was {Outcome})")]
    public static partial void ContainerStopped(this ILogger logger, string containerId, string leaseId, TimeSpan stopTimeout, string outcome);

    [LoggerMessage(EventId = 706, Level = LogLevel.Information,
        Message = "Removed container {ContainerId} of lease {LeaseId}")]
    public static partial void ContainerRemoved(this ILogger logger, string containerId, string leaseId);

    [LoggerMessage(EventId = 707, Level = LogLevel.Warning,
        Message = "Removed orphan container {ContainerId} ({Name}, {State}) of lease {LeaseId} (epoch {Epoch}, kernel {KernelId}): the lease is not in this node's ledger")]
    public static partial void OrphanContainerRemoved(this ILogger logger, string containerId, string name, string state, string leaseId, long epoch, string kernelId);

    [LoggerMessage(EventId = 708, Level = LogLevel.Warning,
        Message = "Could not remove orphan container {ContainerId} of lease {LeaseId}: {Failure}")]
    public static partial void OrphanContainerRemovalFailed(this ILogger logger, string containerId, string leaseId, string failure);

    [LoggerMessage(EventId = 709, Level = LogLevel.Information,
        Message = "Orphan cleanup on node {NodeId}: {Found} container(s) of this node, {Removed} removed, {Kept} kept (their lease is bound), {Failed} could not be removed")]
    public static partial void OrphanCleanupFinished(this ILogger logger, string nodeId, int found, int removed, int kept, int failed);

    [LoggerMessage(EventId = 710, Level = LogLevel.Warning,
        Message = "Lease {LeaseId}'s GPU {GpuIndex} ({GpuUuid}) is simulated: container {Name} gets no GPU device request, only the binding's environment")]
    public static partial void ContainerGpuSimulated(this ILogger logger, string leaseId, int gpuIndex, string gpuUuid, string name);
}
