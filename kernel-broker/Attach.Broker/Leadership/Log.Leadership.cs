namespace Attach.Broker;

/// <summary>Leadership among brokers sharing a store (event ids 1700-1799).</summary>
internal static partial class Log
{
    [LoggerMessage(1700, LogLevel.Information, "Broker {BrokerId} leads (term {Term}) on {Store}; it loaded the store's state and now makes every scheduling decision")]
    public static partial void TookLead(ILogger logger, string brokerId, long term, string store);

    [LoggerMessage(1701, LogLevel.Information, "Broker {BrokerId} is a follower: broker {LeaderId} leads (term {Term}). It refuses decisions with 503 and tries to take over every {Interval}")]
    public static partial void Following(ILogger logger, string brokerId, string leaderId, long term, TimeSpan interval);

    [LoggerMessage(1702, LogLevel.Critical, "Broker {BrokerId} lost the lead: {Reason}. It refuses every decision from now on (another broker takes over); restart it to rejoin as a follower. Stopping the process: {Stopping}")]
    public static partial void Deposed(ILogger logger, string brokerId, string reason, bool stopping);

    [LoggerMessage(1703, LogLevel.Warning, "Broker {BrokerId} could not try for the lead on {Store}: {Reason}. It tries again at the next interval; check that PostgreSQL answers")]
    public static partial void ElectionFailed(ILogger logger, string brokerId, string store, string reason);

    [LoggerMessage(1704, LogLevel.Warning, "Broker {BrokerId} could not check its leader session: {Reason}")]
    public static partial void LeaderCheckFailed(ILogger logger, string brokerId, string reason);

    [LoggerMessage(1705, LogLevel.Critical, "Broker {BrokerId} took the lead but could not load its state; it gave the lead up and stops. Fix the cause above and restart it")]
    public static partial void TakeoverFailed(ILogger logger, Exception exception, string brokerId);

    [LoggerMessage(1706, LogLevel.Information, "Broker {BrokerId} is stopping; its leader lock is released when its session closes, and a follower takes over")]
    public static partial void LeadershipHandedOver(ILogger logger, string brokerId);

    [LoggerMessage(1707, LogLevel.Debug, "Broker {BrokerId} refused {Method} {Path}: it does not lead")]
    public static partial void RefusedAsFollower(ILogger logger, string brokerId, string method, string path);
}
