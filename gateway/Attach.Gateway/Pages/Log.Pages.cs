namespace Attach.Gateway;

/// <summary>Log events of the pages the gateway rewrites and serves (ids 2400-2499).</summary>
internal static partial class Log
{
    [LoggerMessage(2400, LogLevel.Warning, "The badge is not built (no badge.js in {Directory}); pages go out without it. Run `make build`, or set Gateway:Pages:StaticDirectory")]
    public static partial void BadgeNotBuilt(ILogger logger, string directory);

    [LoggerMessage(2401, LogLevel.Debug, "Page {Path} went out without the badge: its Content-Encoding {Encoding} cannot be rewritten")]
    public static partial void PageEncodingNotRewritable(ILogger logger, string path, string encoding);

    [LoggerMessage(2402, LogLevel.Information, "Page {Path} went out without the badge: {Reason}")]
    public static partial void BadgeSkippedForPolicy(ILogger logger, string path, string reason);

    [LoggerMessage(2410, LogLevel.Warning, "The dashboard could not read {What} from the broker: {Reason}")]
    public static partial void DashboardBrokerCallFailed(ILogger logger, string what, string reason);
}
