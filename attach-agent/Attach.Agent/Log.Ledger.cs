namespace Attach.Agent;

/// <summary>Log events of the slice ledger's state on disk (800-849).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 800, Level = LogLevel.Information,
        Message = "Restored the slice ledger from {Location}: {BindingCount} binding(s), {RetiredCount} recently unbound lease(s) kept for fencing")]
    public static partial void LedgerRestored(this ILogger logger, string location, int bindingCount, int retiredCount);

    [LoggerMessage(EventId = 801, Level = LogLevel.Information,
        Message = "Restored lease {LeaseId} (epoch {Epoch}) of kernel {KernelId} (owner {Owner}): GPU {GpuIndex}, {MemoryMiB} MiB, {ComputePercent}% compute")]
    public static partial void LedgerBindingRestored(this ILogger logger, string leaseId, long epoch, string kernelId, string owner, int gpuIndex, long memoryMiB, int computePercent);

    [LoggerMessage(EventId = 802, Level = LogLevel.Information,
        Message = "No slice ledger at {Location} yet; starting with no bindings")]
    public static partial void LedgerStartedEmpty(this ILogger logger, string location);

    [LoggerMessage(EventId = 803, Level = LogLevel.Critical,
        Message = "The slice ledger {Path} cannot be read: {Problem}. A copy was kept as {Copy}; the agent refuses to start rather than forget bindings")]
    public static partial void LedgerCorrupt(this ILogger logger, string path, string problem, string copy);

    [LoggerMessage(EventId = 804, Level = LogLevel.Error,
        Message = "Saving the slice ledger {Location} failed for lease {LeaseId}; the change was not made")]
    public static partial void LedgerSaveFailed(this ILogger logger, Exception exception, string location, string leaseId);

    [LoggerMessage(EventId = 805, Level = LogLevel.Information,
        Message = "Ignored and removed {TempPath}: a save of the ledger that did not finish before the agent stopped (the ledger beside it is complete)")]
    public static partial void LedgerTempFileIgnored(this ILogger logger, string tempPath);

    [LoggerMessage(EventId = 806, Level = LogLevel.Warning,
        Message = "Restored lease {LeaseId} is on GPU {GpuIndex} ({RecordedUuid}), but that GPU is now {CurrentUuid}; the binding is kept as recorded until the broker releases it")]
    public static partial void LedgerBindingOnChangedGpu(this ILogger logger, string leaseId, int gpuIndex, string recordedUuid, string? currentUuid);
}
