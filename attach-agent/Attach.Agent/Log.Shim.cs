namespace Attach.Agent;

/// <summary>The shim socket's log events (6xx).</summary>
internal static partial class Log
{
    // 600-619: the socket and its connections

    [LoggerMessage(EventId = 600, Level = LogLevel.Information,
        Message = "Shim socket listening at {SocketPath} (mode {Mode}, at most {MaxConnections} connections)")]
    public static partial void ShimListening(this ILogger logger, string socketPath, string mode, int maxConnections);

    [LoggerMessage(EventId = 601, Level = LogLevel.Information,
        Message = "Shim socket disabled (Agent:Shim:Enabled=false); processes started with the shim cannot get a GPU on this node")]
    public static partial void ShimDisabled(this ILogger logger);

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning,
        Message = "Shim socket not started: it needs Linux (SO_PEERCRED), this is {OperatingSystem}")]
    public static partial void ShimUnsupportedPlatform(this ILogger logger, string operatingSystem);

    [LoggerMessage(EventId = 603, Level = LogLevel.Information,
        Message = "Removed the stale shim socket {SocketPath} left by an earlier run (nothing listened on it)")]
    public static partial void ShimStaleSocketRemoved(this ILogger logger, string socketPath);

    [LoggerMessage(EventId = 604, Level = LogLevel.Warning,
        Message = "Accepting a shim connection failed ({SocketError}: {Failure}); accepting again shortly")]
    public static partial void ShimAcceptFailed(this ILogger logger, string socketError, string failure);

    [LoggerMessage(EventId = 605, Level = LogLevel.Warning,
        Message = "Refused a shim connection from pid {Pid} (uid {Uid}): {MaxConnections} connections are open already (Agent:Shim:MaxConnections)")]
    public static partial void ShimConnectionRejected(this ILogger logger, int pid, uint uid, int maxConnections);

    [LoggerMessage(EventId = 606, Level = LogLevel.Warning,
        Message = "Closed the shim connection of pid {Pid} (uid {Uid}): {Code}: {Detail}")]
    public static partial void ShimProtocolViolation(this ILogger logger, int pid, uint uid, string code, string detail);

    [LoggerMessage(EventId = 607, Level = LogLevel.Debug,
        Message = "Shim hello from pid {Pid} (uid {Uid}, gid {Gid}) for session {Session} ({Client})")]
    public static partial void ShimHello(this ILogger logger, int pid, uint uid, uint gid, string session, string client);

    [LoggerMessage(EventId = 608, Level = LogLevel.Debug,
        Message = "Shim connection of pid {Pid} closed: {Reason}")]
    public static partial void ShimConnectionClosed(this ILogger logger, int pid, string reason);

    [LoggerMessage(EventId = 609, Level = LogLevel.Error,
        Message = "Serving the shim connection of pid {Pid} failed; the connection was closed")]
    public static partial void ShimConnectionFailed(this ILogger logger, Exception exception, int pid);

    [LoggerMessage(EventId = 610, Level = LogLevel.Warning,
        Message = "The agent stopped before {Count} shim connection(s) finished closing; their leases may stay bound until the broker reconciles")]
    public static partial void ShimConnectionsAbandoned(this ILogger logger, int count);

    // 620-649: leases

    [LoggerMessage(EventId = 620, Level = LogLevel.Information,
        Message = "Granted lease {LeaseId} of session {Session} to pid {Pid} (uid {Uid}): GPU {GpuIndex} ({GpuName}), {MemoryMiB} MiB, waited {WaitSeconds:0.###} s")]
    public static partial void ShimLeaseGranted(this ILogger logger, string leaseId, string session, int pid, uint uid, int gpuIndex, string gpuName, long memoryMiB, double waitSeconds);

    [LoggerMessage(EventId = 621, Level = LogLevel.Information,
        Message = "Pid {Pid} (uid {Uid}) joined lease {LeaseId} of session {Session}; {Holders} process(es) hold it")]
    public static partial void ShimLeaseJoined(this ILogger logger, string leaseId, string session, int pid, uint uid, int holders);

    [LoggerMessage(EventId = 622, Level = LogLevel.Debug,
        Message = "Pid {Pid} of session {Session} is queued at position {Position}")]
    public static partial void ShimLeaseQueued(this ILogger logger, string session, int pid, int position);

    [LoggerMessage(EventId = 623, Level = LogLevel.Warning,
        Message = "No lease for pid {Pid} (uid {Uid}) of session {Session}: {Code}: {Error}")]
    public static partial void ShimLeaseRefused(this ILogger logger, string session, int pid, uint uid, string code, string error);

    [LoggerMessage(EventId = 624, Level = LogLevel.Information,
        Message = "Pid {Pid} let go of lease {LeaseId} of session {Session} ({Reason}); {Holders} process(es) still hold it")]
    public static partial void ShimLeaseLeft(this ILogger logger, string leaseId, string session, int pid, string reason, int holders);

    [LoggerMessage(EventId = 625, Level = LogLevel.Information,
        Message = "Released lease {LeaseId} of session {Session}: pid {Pid}, its last holder, {Reason}")]
    public static partial void ShimLeaseReleased(this ILogger logger, string leaseId, string session, int pid, string reason);

    [LoggerMessage(EventId = 626, Level = LogLevel.Information,
        Message = "Pid {Pid}, the last shim holder of lease {LeaseId}, let go ({Reason}); session {Session} held the lease before its shims asked, so the broker's idle policy releases it")]
    public static partial void ShimLeaseKept(this ILogger logger, string leaseId, string session, int pid, string reason);

    [LoggerMessage(EventId = 627, Level = LogLevel.Warning,
        Message = "Releasing lease {LeaseId} of session {Session} (last holder pid {Pid}) at the broker failed: {Failure}. The binding stays until the broker reconciles with the next heartbeat")]
    public static partial void ShimBrokerReleaseFailed(this ILogger logger, string leaseId, string session, int pid, string failure);

    [LoggerMessage(EventId = 628, Level = LogLevel.Information,
        Message = "Lease {LeaseId} was revoked from {Holders} shim connection(s): {Reason}")]
    public static partial void ShimLeaseRevoked(this ILogger logger, string leaseId, int holders, string reason);

    [LoggerMessage(EventId = 629, Level = LogLevel.Warning,
        Message = "Dropping the queued request of pid {Pid} for session {Session} at the broker failed: {Failure}. The broker expires it when the agent stops asking")]
    public static partial void ShimQueueDropFailed(this ILogger logger, string session, int pid, string failure);
}
