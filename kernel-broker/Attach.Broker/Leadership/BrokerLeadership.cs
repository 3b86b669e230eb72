using Microsoft.Extensions.Options;

namespace Attach.Broker.Leadership;

/// <summary>
/// Whether this broker decides, and who does when it does not: read on every request (by the gate in
/// <see cref="LeadershipApi"/>), changed only by the <see cref="LeaderElector"/>. A broker alone on SQLite or memory
/// leads from the start; brokers sharing PostgreSQL elect one by an advisory lock.
/// </summary>
internal sealed class BrokerLeadership
{
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _leading = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile LeadershipRole _role = LeadershipRole.Starting;
    private LeaderRecord? _leader;
    private string? _reason;

    public BrokerLeadership(IOptions<LeadershipOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        BrokerId = options.Value.ResolveBrokerId();
        Url = options.Value.AdvertisedUrl;
    }

    /// <summary>This broker's id.</summary>
    public string BrokerId { get; }

    /// <summary>This broker's advertised URL, if configured.</summary>
    public string? Url { get; }

    /// <summary>True when the broker shares its store and was elected; false when it is alone on it.</summary>
    public bool Elected { get; private set; }

    public LeadershipRole Role => _role;

    /// <summary>True while this broker may make scheduling decisions.</summary>
    public bool IsLeader => _role == LeadershipRole.Leader;

    /// <summary>Completes when this broker first leads (with its state loaded).</summary>
    public Task Leading => _leading.Task;

    /// <summary>The leader as last seen: this broker when it leads, the row in the store otherwise (null: none yet).</summary>
    public LeaderRecord? Leader
    {
        get
        {
            lock (_lock)
            {
                return _leader;
            }
        }
    }

    /// <summary>Why this broker does not lead (deposed), or null.</summary>
    public string? Reason
    {
        get
        {
            lock (_lock)
            {
                return _reason;
            }
        }
    }

    internal void Lead(LeaderRecord record, bool elected)
    {
        lock (_lock)
        {
            if (_role == LeadershipRole.Deposed)
            {
                return;
            }

            _leader = record;
            _reason = null;
            Elected = elected;
            _role = LeadershipRole.Leader;
        }

        _leading.TrySetResult();
    }

    internal void Follow(LeaderRecord? leader)
    {
        lock (_lock)
        {
            if (_role is LeadershipRole.Leader or LeadershipRole.Deposed)
            {
                return;
            }

            _leader = leader;
            Elected = true;
            _role = LeadershipRole.Follower;
        }
    }

    /// <summary>Stops this broker deciding, for good. False when it did not lead.</summary>
    internal bool Depose(string reason)
    {
        lock (_lock)
        {
            if (_role != LeadershipRole.Leader)
            {
                return false;
            }

            _role = LeadershipRole.Deposed;
            _reason = reason;
            return true;
        }
    }

    /// <summary>Records who leads now, as a deposed broker or a follower reads it from the store.</summary>
    internal void SawLeader(LeaderRecord? leader)
    {
        lock (_lock)
        {
            if (_role != LeadershipRole.Leader)
            {
                _leader = leader;
            }
        }
    }
}
