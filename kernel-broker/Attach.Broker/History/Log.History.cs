namespace Attach.Broker;

/// <summary>Log events of the pool history (ids 1500-1599).</summary>
internal static partial class Log
{
    [LoggerMessage(1500, LogLevel.Error, "Sampling the pool for its history failed; the dashboard's plots miss this sample")]
    public static partial void PoolSampleFailed(ILogger logger, Exception exception);
}
