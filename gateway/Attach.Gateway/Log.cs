using System.Net.WebSockets;
using Attach.Contracts.Kernels;

namespace Attach.Gateway;

/// <summary>Every log event of the gateway, source-generated, with unique ids.</summary>
internal static partial class Log
{
    [LoggerMessage(2000, LogLevel.Information, "Kernel channel {KernelId} opened for {User} ({Protocol} protocol)")]
    public static partial void Connected(ILogger logger, string kernelId, string user, string protocol);

    [LoggerMessage(2001, LogLevel.Information, "Kernel channel {KernelId} closed for {User}")]
    public static partial void Disconnected(ILogger logger, string kernelId, string user);

    [LoggerMessage(2002, LogLevel.Warning, "The Jupyter Server refused the channel of kernel {KernelId} (HTTP {Status}): {Reason}")]
    public static partial void UpstreamRefused(ILogger logger, string kernelId, int status, string reason);

    [LoggerMessage(2003, LogLevel.Warning, "Closed the kernel channel {KernelId} of {User} with {CloseStatus}: {Reason}")]
    public static partial void ClientFrameRejected(ILogger logger, string kernelId, string user, WebSocketCloseStatus closeStatus, string reason);

    [LoggerMessage(2004, LogLevel.Warning, "Kernel {KernelId} sent a message over the {MaxBytes}-byte limit; closed the channel (raise Gateway:MaxMessageBytes if such outputs are expected)")]
    public static partial void KernelMessageTooBig(ILogger logger, string kernelId, long maxBytes);

    [LoggerMessage(2005, LogLevel.Information, "Kernel {KernelId}: cell {MsgId} released to the kernel after the attach (rule {Rule}, GPU {GpuIndex}, held {HeldMs:0.#} ms)")]
    public static partial void CellReleased(ILogger logger, string kernelId, string msgId, string rule, int gpuIndex, double heldMs);

    [LoggerMessage(2006, LogLevel.Warning, "Kernel {KernelId}: cell {MsgId} answered with an error, no GPU: {Reason}")]
    public static partial void CellRefused(ILogger logger, string kernelId, string msgId, string reason);

    [LoggerMessage(2007, LogLevel.Warning, "Kernel {KernelId}: the broker could not be asked about cell {MsgId} ({Reason}); the cell runs without a GPU check")]
    public static partial void BrokerUnavailable(ILogger logger, string kernelId, string msgId, string reason);

    [LoggerMessage(2008, LogLevel.Warning, "Kernel {KernelId}: cell {MsgId} waited {Timeout} for a GPU and was answered with an error")]
    public static partial void AttachTimedOut(ILogger logger, string kernelId, string msgId, TimeSpan timeout);

    [LoggerMessage(2009, LogLevel.Error, "The relay of kernel channel {KernelId} failed")]
    public static partial void RelayFailed(ILogger logger, Exception exception, string kernelId);

    [LoggerMessage(2014, LogLevel.Warning, "Kernel {KernelId}: the client disconnected while cell {MsgId} was held for a GPU; the cell was not sent to the kernel")]
    public static partial void HeldCellDropped(ILogger logger, string kernelId, string msgId);

    [LoggerMessage(2012, LogLevel.Information, "The broker is reachable; GPU cells will not wait for the first connection")]
    public static partial void BrokerReachable(ILogger logger);

    [LoggerMessage(2013, LogLevel.Warning, "The broker has not answered for 2 minutes ({Reason}); GPU cells run without a GPU check until it does. Check Gateway:BrokerUrl and that the broker runs")]
    public static partial void BrokerNotYetReachable(ILogger logger, string reason);

    [LoggerMessage(2390, LogLevel.Information, "Fetched the broker's {Count} GPU-evidence rules: cells with no evidence at all go to the kernel without waiting for the broker")]
    public static partial void ExecutionRulesLoaded(ILogger logger, int count);

    [LoggerMessage(2391, LogLevel.Warning, "The broker's GPU-evidence rules do not compile in the gateway; every cell is asked about. Check the broker's Detection:Rules")]
    public static partial void ExecutionRulesUnusable(ILogger logger);

    [LoggerMessage(2392, LogLevel.Warning, "Could not fetch the broker's GPU-evidence rules ({Reason}); cells are asked about until the next try")]
    public static partial void ExecutionRulesFetchFailed(ILogger logger, string reason);

    [LoggerMessage(2393, LogLevel.Warning, "Sending {Count} kernel observations of {User} to the broker failed ({Reason}); busy/idle is sent again with the next cell, the broker's idle policy may act on older state meanwhile")]
    public static partial void ReportFailed(ILogger logger, int count, string user, string reason);

    [LoggerMessage(2307, LogLevel.Debug, "Kernel {KernelId}: every cell the client had sent before held cell {HeldMsgId} failed has been read and aborted; {MsgId}, sent after, and what follows it are handled as usual")]
    public static partial void AbortingAfterErrorEnded(ILogger logger, string kernelId, string heldMsgId, string msgId);

    [LoggerMessage(2395, LogLevel.Warning, "Kernel {KernelId}: cell {MsgId}, queued behind held cell {HeldMsgId}, was aborted without reaching the kernel ({Reason}); run it again")]
    public static partial void QueuedCellAborted(ILogger logger, string kernelId, string msgId, string heldMsgId, string reason);

    [LoggerMessage(2396, LogLevel.Warning, "Kernel {KernelId}: {MsgType} message {MsgId}, queued behind held cell {HeldMsgId}, was discarded without reaching the kernel ({Reason})")]
    public static partial void QueuedMessageDiscarded(ILogger logger, string kernelId, string msgType, string msgId, string heldMsgId, string reason);

    [LoggerMessage(2397, LogLevel.Information, "Kernel {KernelId}: {Count} message(s) queued behind held cell {MsgId} are kept with it, in order, for the browser's reconnect")]
    public static partial void QueuedMessagesParked(ILogger logger, string kernelId, int count, string msgId);

    [LoggerMessage(2398, LogLevel.Information, "Kernel {KernelId}: held cell {HeldMsgId} failed and asked stop_on_error, so cell {MsgId} queued behind it was answered as aborted, as the kernel would")]
    public static partial void QueuedCellAbortedAfterError(ILogger logger, string kernelId, string msgId, string heldMsgId);

    [LoggerMessage(2399, LogLevel.Warning, "Kernel {KernelId}: {MsgType} message {MsgId} read from the client was not sent to the kernel: the channel ended first (run it again if it was a cell)")]
    public static partial void ClientMessageNotSent(ILogger logger, string kernelId, string msgType, string msgId);

    [LoggerMessage(2100, LogLevel.Information, "Kernel {KernelId}: cell {MsgId} was interrupted before it reached the kernel; answered it as aborted")]
    public static partial void CellAbortedByInterrupt(ILogger logger, string kernelId, string msgId);

    [LoggerMessage(2101, LogLevel.Information, "Kernel {KernelId}: an interrupt arrived while cell {MsgId} was held for a GPU; the hold is abandoned")]
    public static partial void HoldInterrupted(ILogger logger, string kernelId, string msgId);

    [LoggerMessage(2200, LogLevel.Warning, "{User} asked for another user's address ({Method}); refused with 403")]
    public static partial void OtherUsersRouteRefused(ILogger logger, string user, string method);

    [LoggerMessage(2210, LogLevel.Information, "configurable-http-proxy API listening on {Address}")]
    public static partial void ConfigurableProxyListening(ILogger logger, Uri address);

    [LoggerMessage(2211, LogLevel.Information, "JupyterHub added the route {Prefix} -> {Target}")]
    public static partial void ConfigurableProxyRouteAdded(ILogger logger, string prefix, Uri target);

    [LoggerMessage(2212, LogLevel.Information, "JupyterHub removed the route {Prefix}")]
    public static partial void ConfigurableProxyRouteRemoved(ILogger logger, string prefix);

    [LoggerMessage(2213, LogLevel.Warning, "Refused a route for {Prefix}: its target is not an http(s) URL")]
    public static partial void ConfigurableProxyBadRoute(ILogger logger, string prefix);

    [LoggerMessage(2202, LogLevel.Warning, "{User} asked the broker about kernel {KernelId}, which is not on their Jupyter Server; refused with 404")]
    public static partial void OtherUsersKernelRefused(ILogger logger, string user, string kernelId);

    [LoggerMessage(2300, LogLevel.Debug, "Kernel {KernelId}: held cell {MsgId} is {Phase} (position {QueuePosition} of {QueueLength})")]
    public static partial void CellProgress(ILogger logger, string kernelId, string msgId, ExecutionPhase phase, int? queuePosition, int? queueLength);

    [LoggerMessage(2301, LogLevel.Information, "Kernel {KernelId}: interrupt from the toolbar; held and queued cells aborted on {Channels} open channel(s), forwarding it to Jupyter")]
    public static partial void InterruptIntercepted(ILogger logger, string kernelId, int channels);

    [LoggerMessage(2302, LogLevel.Information, "Kernel {KernelId}: the client disconnected while cell {MsgId} was held for a GPU; the cell waits for the browser to reconnect")]
    public static partial void HeldCellParked(ILogger logger, string kernelId, string msgId);

    [LoggerMessage(2304, LogLevel.Information, "Kernel {KernelId}: an interrupt arrived while cell {MsgId} was parked for the browser's reconnect; the hold is abandoned and the reconnected channel answers it and the cells queued behind it as aborted")]
    public static partial void ParkedHoldInterrupted(ILogger logger, string kernelId, string msgId);

    [LoggerMessage(2306, LogLevel.Information, "Kernel {KernelId}: interrupt from the toolbar; held and queued cells aborted on {Channels} open channel(s) and {ParkedCells} cell(s) parked for a reconnect, forwarding it to Jupyter")]
    public static partial void InterruptInterceptedWithParked(ILogger logger, string kernelId, int channels, int parkedCells);

    [LoggerMessage(2303, LogLevel.Information, "Kernel {KernelId}: a reconnected channel took over held cell {MsgId}")]
    public static partial void HeldCellAdopted(ILogger logger, string kernelId, string msgId);

    [LoggerMessage(2305, LogLevel.Information, "Kernel channel {KernelId}: the connection of {User} dropped without a close")]
    public static partial void ClientDropped(ILogger logger, string kernelId, string user);
}
