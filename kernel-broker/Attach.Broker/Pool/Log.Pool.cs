namespace Attach.Broker;

/// <summary>Log events of dead-agent reclaim, the idle policy and preemption (1600-1699).</summary>
internal static partial class Log
{
    [LoggerMessage(1600, LogLevel.Warning, "Node {NodeId} sent no heartbeat for {SilentSeconds:0.#} s (last at {LastSeen:O}), past the lease TTL of {TtlSeconds:0.#} s: declared dead, {Leases} leases reclaimed and nothing more is placed there until its agent sends a heartbeat again")]
    public static partial void NodeDeclaredDead(ILogger logger, string nodeId, double silentSeconds, DateTimeOffset lastSeen, double ttlSeconds, int leases);

    [LoggerMessage(1601, LogLevel.Warning, "Reclaimed lease {LeaseId} (epoch {Epoch}) of kernel {KernelId} (user {Owner}) on dead node {NodeId}: GPU {GpuIndex}, {SliceMiB} MiB")]
    public static partial void LeaseReclaimed(ILogger logger, string leaseId, long epoch, string kernelId, string owner, string nodeId, int gpuIndex, long sliceMiB);

    [LoggerMessage(1602, LogLevel.Warning, "Kernel {KernelId} (user {Owner}) lost lease {LeaseId}: {Reason}")]
    public static partial void AttachmentLost(ILogger logger, string kernelId, string owner, string leaseId, string reason);

    [LoggerMessage(1603, LogLevel.Error, "Reclaiming the leases of dead nodes failed; the next sweep tries again")]
    public static partial void ReclaimFailed(ILogger logger, Exception exception);
}
