using Attach.Agent.Slices;

namespace Attach.Agent;

/// <summary>Every log event of the agent (source-generated; event ids are unique in the project).</summary>
internal static partial class Log
{
    // 1xx: GPU backend

    [LoggerMessage(EventId = 100, Level = LogLevel.Information,
        Message = "GPU backend {Backend} (simulated: {Simulated}) with {GpuCount} × {Model}: {Reason}")]
    public static partial void GpuBackendSelected(this ILogger logger, string backend, bool simulated, int gpuCount, string model, string reason);

    // 2xx: slices

    [LoggerMessage(EventId = 200, Level = LogLevel.Information,
        Message = "Bound lease {LeaseId} (epoch {Epoch}) for kernel {KernelId}: GPU {GpuIndex}, {MemoryMiB} MiB, {ComputePercent}% compute")]
    public static partial void SliceBound(this ILogger logger, string leaseId, long epoch, string kernelId, int gpuIndex, long memoryMiB, int computePercent);

    [LoggerMessage(EventId = 201, Level = LogLevel.Debug,
        Message = "Lease {LeaseId} (epoch {Epoch}) for kernel {KernelId} is already bound on GPU {GpuIndex} with {MemoryMiB} MiB; returned the existing binding")]
    public static partial void SliceBindReplayed(this ILogger logger, string leaseId, long epoch, string kernelId, int gpuIndex, long memoryMiB);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information,
        Message = "Lease {LeaseId} advanced from epoch {PreviousEpoch} to {Epoch} for kernel {KernelId}: GPU {GpuIndex}, {MemoryMiB} MiB, {ComputePercent}% compute")]
    public static partial void SliceEpochAdvanced(this ILogger logger, string leaseId, long previousEpoch, long epoch, string kernelId, int gpuIndex, long memoryMiB, int computePercent);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning,
        Message = "Refused to bind lease {LeaseId} for kernel {KernelId} on GPU {GpuIndex} ({MemoryMiB} MiB): {Refusal}: {Detail}")]
    public static partial void SliceBindRefused(this ILogger logger, string? leaseId, string? kernelId, int gpuIndex, long memoryMiB, LedgerRefusalKind refusal, string detail);

    [LoggerMessage(EventId = 204, Level = LogLevel.Information,
        Message = "Unbound lease {LeaseId} (epoch {Epoch}) of kernel {KernelId}: GPU {GpuIndex}, {MemoryMiB} MiB freed")]
    public static partial void SliceUnbound(this ILogger logger, string leaseId, long epoch, string kernelId, int gpuIndex, long memoryMiB);

    [LoggerMessage(EventId = 205, Level = LogLevel.Warning,
        Message = "Refused to unbind lease {LeaseId} at epoch {Epoch}: {Refusal}: {Detail}")]
    public static partial void SliceUnbindRefused(this ILogger logger, string leaseId, long epoch, LedgerRefusalKind refusal, string detail);

    // 3xx: broker

    [LoggerMessage(EventId = 300, Level = LogLevel.Information,
        Message = "Registered with broker {BrokerUrl} as node {NodeId} (reachable at {AgentUrl}) with {GpuCount} GPU(s) and {BindingCount} binding(s)")]
    public static partial void RegisteredWithBroker(this ILogger logger, Uri brokerUrl, string nodeId, Uri agentUrl, int gpuCount, int bindingCount);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning,
        Message = "Heartbeat to broker {BrokerUrl} failed: {Failure}. {Hint} The agent keeps its bindings and tries again every {Interval}; further failures are not logged until the broker is back")]
    public static partial void BrokerUnreachable(this ILogger logger, Uri brokerUrl, string failure, string hint, TimeSpan interval);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug,
        Message = "Heartbeat to broker {BrokerUrl} failed again: {Failure}")]
    public static partial void BrokerStillUnreachable(this ILogger logger, Uri brokerUrl, string failure);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information,
        Message = "Broker {BrokerUrl} is reachable again after {Outage}; heartbeats resumed")]
    public static partial void BrokerReachableAgain(this ILogger logger, Uri brokerUrl, TimeSpan outage);
}
