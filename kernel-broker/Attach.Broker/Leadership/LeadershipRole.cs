namespace Attach.Broker.Leadership;

/// <summary>Where a broker stands among the brokers sharing its store.</summary>
internal enum LeadershipRole
{
    /// <summary>Not yet decided (before the broker's first attempt at the lock).</summary>
    Starting,

    /// <summary>Another broker leads; this one refuses decisions and tries to take over every interval.</summary>
    Follower,

    /// <summary>This broker decides: it holds the lock (or is alone on its store).</summary>
    Leader,

    /// <summary>It led and lost its database session: it refuses decisions for good (its state may be stale).</summary>
    Deposed,
}
