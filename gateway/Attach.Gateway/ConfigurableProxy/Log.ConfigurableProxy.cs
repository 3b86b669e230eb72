namespace Attach.Gateway;

/// <summary>Log events of the routes JupyterHub drives through the configurable-http-proxy API (ids 2500-2599).</summary>
internal static partial class Log
{
    [LoggerMessage(2501, LogLevel.Warning, "The server of JupyterHub route {Prefix} refused kernel channel {KernelId} with {Status}; nothing was held or sent to the broker")]
    public static partial void HubKernelChannelRefused(ILogger logger, string prefix, string kernelId, int status);

    [LoggerMessage(2502, LogLevel.Warning, "The server of JupyterHub route {Prefix} did not answer ({Reason}); answered 503. JupyterHub removes or restarts it; check that the server is running")]
    public static partial void HubRouteUnreachable(ILogger logger, string prefix, string reason);

    [LoggerMessage(2503, LogLevel.Warning, "The error target gave no page for {Status} ({Reason}); sent the gateway's own. Check Gateway:ConfigurableProxy:ErrorTarget")]
    public static partial void ErrorTargetFailed(ILogger logger, int status, string reason);

    [LoggerMessage(2504, LogLevel.Warning, "JupyterHub route {Prefix} names a user the broker cannot take (printable ASCII, at most 128 characters); its kernels are proxied without GPU holds")]
    public static partial void HubRouteUserUnusable(ILogger logger, string prefix);

    [LoggerMessage(2505, LogLevel.Information, "The server of JupyterHub route {Prefix} accepted an interrupt of kernel {KernelId}; held cells of {User} on {Channels} channel(s) aborted")]
    public static partial void HubInterruptForwarded(ILogger logger, string prefix, string kernelId, string user, int channels);

    [LoggerMessage(2506, LogLevel.Information, "The server of JupyterHub route {Prefix} accepted the browser's credentials: signed in to the gateway as {User} until {Expires}")]
    public static partial void HubIdentityGiven(ILogger logger, string prefix, string user, DateTimeOffset expires);

    [LoggerMessage(2507, LogLevel.Information, "The server of JupyterHub route {Prefix} did not accept the browser's credentials ({Status}); no gateway identity given. The user signs in through JupyterHub")]
    public static partial void HubIdentityRefused(ILogger logger, string prefix, int status);

    [LoggerMessage(2508, LogLevel.Warning, "A request for the gateway identity of JupyterHub route {Prefix} did not come from a page of the gateway's own origin; refused")]
    public static partial void HubIdentityCrossOrigin(ILogger logger, string prefix);
}
