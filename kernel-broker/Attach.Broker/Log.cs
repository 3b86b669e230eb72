using Attach.Contracts.Kernels;

namespace Attach.Broker;

/// <summary>Every log event of the broker, source-generated, with unique ids.</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Attached kernel {KernelId} (user {Owner}) to GPU {GpuIndex} {GpuName}: {SliceMiB} MiB slice, lease {LeaseId} on node {NodeId}, waited {WaitMs:0.#} ms")]
    public static partial void Attached(ILogger logger, string kernelId, string owner, int gpuIndex, string gpuName, long sliceMiB, string leaseId, string nodeId, double waitMs);

    [LoggerMessage(1001, LogLevel.Information, "Released kernel {KernelId} (user {Owner}) from GPU {GpuIndex} {GpuName}: {SliceMiB} MiB slice, lease {LeaseId} ({Reason})")]
    public static partial void Released(ILogger logger, string kernelId, string owner, int gpuIndex, string gpuName, long sliceMiB, string leaseId, string reason);

    [LoggerMessage(1002, LogLevel.Warning, "Could not attach a GPU to kernel {KernelId} (user {Owner}): {Reason}")]
    public static partial void AttachFailed(ILogger logger, string kernelId, string owner, string reason);

    [LoggerMessage(1003, LogLevel.Error, "Could not release lease {LeaseId} of kernel {KernelId}: {Reason}")]
    public static partial void ReleaseFailed(ILogger logger, string kernelId, string leaseId, string reason);

    [LoggerMessage(1004, LogLevel.Debug, "Kernel {KernelId}: {From} -> {To} ({Reason})")]
    public static partial void Transition(ILogger logger, string kernelId, KernelState from, KernelState to, string reason);

    [LoggerMessage(1005, LogLevel.Warning, "Agent on node {NodeId} refused or failed to bind lease {LeaseId} for kernel {KernelId}: {Reason}")]
    public static partial void BindFailed(ILogger logger, string kernelId, string leaseId, string nodeId, string reason);

    [LoggerMessage(1006, LogLevel.Information, "Node {NodeId} registered: {GpuCount} GPUs, backend {Backend} ({BackendReason}), agent at {AgentUrl}")]
    public static partial void NodeRegistered(ILogger logger, string nodeId, int gpuCount, string backend, string backendReason, Uri agentUrl);

    [LoggerMessage(1008, LogLevel.Warning, "Retrying the unbind of lease {LeaseId} on node {NodeId} failed: {Reason}")]
    public static partial void ReconcileUnbindFailed(ILogger logger, string nodeId, string leaseId, string reason);

    [LoggerMessage(1009, LogLevel.Information, "Kernel {KernelId}: classified {MsgId} as {Verdict} (rule {Rule})")]
    public static partial void Classified(ILogger logger, string kernelId, string msgId, string verdict, string rule);

    [LoggerMessage(1090, LogLevel.Warning, "Kernel {KernelId}: the gateway forwarded cell {MsgId} without waiting, but the broker's rules now mark it as GPU work (rule {Rule}); the gateway's copy of the rules is older than the broker's. The process shim attaches the cell when it reaches CUDA, and the gateway fetches the rules again within minutes.")]
    public static partial void ForwardedGpuCell(ILogger logger, string kernelId, string msgId, string rule);

    [LoggerMessage(1010, LogLevel.Error, "The event queue is full; dropped the {To} event of kernel {KernelId}. Hub clients may show a stale state until the next transition.")]
    public static partial void EventDropped(ILogger logger, string kernelId, KernelState to);

    [LoggerMessage(1012, LogLevel.Information, "Kernel {KernelId}: process {Pid} (uid {Uid}) on node {NodeId} reached cuInit through the shim; attaching")]
    public static partial void RuntimeAttachRequested(ILogger logger, string kernelId, string nodeId, int pid, long uid);

    [LoggerMessage(1011, LogLevel.Warning, "Sending the {To} event of kernel {KernelId} to hub clients failed")]
    public static partial void EventSendFailed(ILogger logger, Exception exception, string kernelId, KernelState to);

    // 1100-1149: reconciling agents' ledgers with the lease table

    [LoggerMessage(1100, LogLevel.Information, "Adopted lease {LeaseId} (epoch {Epoch}) that node {NodeId} holds and the broker did not know (a broker restart): kernel {KernelId} of user {Owner} is attached again to GPU {GpuIndex}, {SliceMiB} MiB; the idle policy applies from now")]
    public static partial void BindingAdopted(ILogger logger, string nodeId, string leaseId, long epoch, string kernelId, string owner, int gpuIndex, long sliceMiB);

    [LoggerMessage(1101, LogLevel.Warning, "Node {NodeId} holds lease {LeaseId} for kernel {KernelId}, which cannot take it back ({Reason}); unbinding it")]
    public static partial void AdoptionRefused(ILogger logger, string nodeId, string leaseId, string kernelId, string reason);

    [LoggerMessage(1200, LogLevel.Information, "Loaded the broker's state from {Store}: {Leases} leases ({Restored} bound and given back to their kernels, {Pending} waiting for their agent's heartbeat); new epochs continue above {Epoch}")]
    public static partial void StateLoaded(ILogger logger, string store, int leases, int restored, int pending, long epoch);

    [LoggerMessage(1201, LogLevel.Warning, "Stored lease {LeaseId} of kernel {KernelId} was not given back to its kernel ({Reason}); it is unbound at its agent's next heartbeat")]
    public static partial void StoredLeaseNotRestored(ILogger logger, string leaseId, string kernelId, string reason);

    // 1300-1399: the pool scheduler and its queue

    [LoggerMessage(1300, LogLevel.Information, "Kernel {KernelId} (user {Owner}) left the queue without a GPU: {Reason}")]
    public static partial void QueueLeft(ILogger logger, string kernelId, string owner, string reason);

    [LoggerMessage(1301, LogLevel.Information, "Kernel {KernelId} (user {Owner}): the client stopped waiting for its queued execution; the request left the queue")]
    public static partial void QueuedRequestAbandoned(ILogger logger, string kernelId, string owner);

    [LoggerMessage(1302, LogLevel.Information, "Kernel {KernelId}: process {Pid} on node {NodeId} waits in the queue at position {Position}")]
    public static partial void RuntimeAttachQueued(ILogger logger, string kernelId, string nodeId, int pid, int position);

    [LoggerMessage(1303, LogLevel.Information, "User {User} cancelled the queued request of kernel {KernelId}")]
    public static partial void QueueCancelledByUser(ILogger logger, string kernelId, string user);
}
