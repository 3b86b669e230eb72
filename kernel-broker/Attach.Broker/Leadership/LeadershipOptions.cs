using System.ComponentModel.DataAnnotations;

namespace Attach.Broker.Leadership;

/// <summary>
/// How brokers that share one PostgreSQL store pick the one that decides (section <c>Broker:Leadership</c>). Unused
/// with SQLite or the memory store: such a broker is alone and always leads.
/// </summary>
internal sealed class LeadershipOptions
{
    public const string Section = "Broker:Leadership";

    /// <summary>
    /// This broker's name in the leader row, in logs and in what followers answer; unique among the brokers sharing a
    /// store. Default: the host name and process id.
    /// </summary>
    [MaxLength(100)]
    public string? BrokerId { get; set; }

    /// <summary>The URL other brokers name when they refuse a decision (where clients should go); optional.</summary>
    [Url]
    public string? AdvertisedUrl { get; set; }

    /// <summary>
    /// How often a follower tries to take the lead and a leader checks its database session. A leader that dies is
    /// replaced within about this long once PostgreSQL has noticed its session is gone.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Whether a leader that lost its database session stops its process (so its orchestrator restarts it as a
    /// follower with fresh state). Either way it refuses every decision from the moment it notices.
    /// </summary>
    public bool StopWhenDeposed { get; set; } = true;

    /// <summary>The configured id, or one made from the host name and process id.</summary>
    public string ResolveBrokerId() =>
        string.IsNullOrWhiteSpace(BrokerId) ? $"{Environment.MachineName}-{Environment.ProcessId}" : BrokerId;
}
