namespace Attach.Broker;

/// <summary>Log events of the idle policy's GPU utilisation rule (1690-1699).</summary>
internal static partial class Log
{
    [LoggerMessage(1690, LogLevel.Debug, "Kernel {KernelId}: node {NodeId} reports GPU {GpuIndex} at {UtilizationPercent}% utilisation (busy from {ThresholdPercent}%); lease {LeaseId} is kept and its idle clock restarts")]
    public static partial void GpuWorkKeepsSlice(ILogger logger, string kernelId, string leaseId, string nodeId, int gpuIndex, int utilizationPercent, int thresholdPercent);
}
