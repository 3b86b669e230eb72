namespace Attach.Agent;

/// <summary>GPU backend events (4xx); the backend choice itself is event 100.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Critical,
        Message = "The NVIDIA GPU backend cannot start ({Evidence}): {Failure} {Hint}")]
    public static partial void NvidiaBackendFailed(this ILogger logger, string evidence, string failure, string hint);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning,
        Message = "nvidia-smi at {Path} is installed but failed ({Failure}), and /dev/nvidiactl is absent: this node has no usable NVIDIA device, so the agent serves the simulated pool")]
    public static partial void NvidiaSmiWithoutDevice(this ILogger logger, string path, string failure);

    [LoggerMessage(EventId = 402, Level = LogLevel.Warning,
        Message = "Reading the GPUs through {Backend} failed: {Failure}. GET /api/v1/gpus keeps the last good reading; the agent tries again every {Interval} and logs again once a reading succeeds")]
    public static partial void GpuReadingFailed(this ILogger logger, string backend, string failure, TimeSpan interval);

    [LoggerMessage(EventId = 403, Level = LogLevel.Debug,
        Message = "Reading the GPUs through {Backend} failed again: {Failure}")]
    public static partial void GpuReadingStillFailing(this ILogger logger, string backend, string failure);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information,
        Message = "Reading the GPUs through {Backend} works again after {Outage}")]
    public static partial void GpuReadingRecovered(this ILogger logger, string backend, TimeSpan outage);
}
