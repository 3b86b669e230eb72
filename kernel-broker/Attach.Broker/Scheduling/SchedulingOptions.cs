using System.ComponentModel.DataAnnotations;

namespace Attach.Broker.Scheduling;

/// <summary>The pool scheduler's policy (section <c>Broker:Scheduling</c>).</summary>
internal sealed class SchedulingOptions
{
    public const string Section = "Broker:Scheduling";

    private static readonly string[] BuiltInProfiles = ["full", "half", "quarter"];

    /// <summary>
    /// Named slice sizes a user can choose (slice selector, <c># attach: profile=half</c>). <c>full</c>, <c>half</c> and
    /// <c>quarter</c> are always there (a whole, half or quarter of a GPU, with 100, 50 and 25% of its compute) unless
    /// configuration redefines them.
    /// </summary>
    public Dictionary<string, SliceProfile> Profiles { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Quotas by user name.</summary>
    public Dictionary<string, SliceQuota> UserQuotas { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Quotas by group name (a process's gid maps to a group through <see cref="GidGroups"/>).</summary>
    public Dictionary<string, SliceQuota> GroupQuotas { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The quota of every user not in <see cref="UserQuotas"/>; none when unset.</summary>
    public SliceQuota? DefaultUserQuota { get; set; }

    /// <summary>Which group a process's gid belongs to (gid → group name), for group quotas on the shim's requests.</summary>
    public Dictionary<string, string> GidGroups { get; set; } = [];

    /// <summary>Users who see every waiter in <c>GET /api/v1/queue</c> (the service user always does).</summary>
    public List<string> Admins { get; set; } = [];

    /// <summary>
    /// How long a queued request from the process shim is kept after the agent's last ask; the agent asks again while
    /// the answer is Queued, so a request it stopped asking about (the process died) leaves the queue.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RuntimeQueueGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The least time a slice is held after its attach before the idle policy may release it (against thrash: a kernel
    /// that pauses between cells right after attaching keeps its GPU). Zero: the idle timeout alone decides.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MinimumHold { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// A GPU whose utilisation in its agent's heartbeat is at or above this share counts as working: every slice on it
    /// has its idle clock restarted (per-GPU utilisation cannot tell which of several slices works, so all are kept).
    /// Readings without utilisation (MIG mode) and simulated readings (they report the bound compute shares, not work)
    /// change nothing.
    /// </summary>
    [Range(1, 100)]
    public int BusyUtilizationPercent { get; set; } = 10;

    /// <summary>Whether interactive requests may suspend batch slices, and which ones.</summary>
    public PreemptionOptions Preemption { get; set; } = new();

    /// <summary>Idle timeout and minimum hold per slice profile (by profile name, case-insensitive).</summary>
    public Dictionary<string, IdleProfile> Idle { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The hold time assumed for queue ETAs until real holds have been observed.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan InitialHoldEstimate { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The profile named <paramref name="name"/> (case-insensitive), the built-in ones included; null when unknown.</summary>
    public SliceProfile? Profile(string name) =>
        Profiles.TryGetValue(name, out var profile) ? profile
        : name.ToUpperInvariant() switch
        {
            "FULL" => new SliceProfile { GpuFraction = 1, ComputePercent = 100 },
            "HALF" => new SliceProfile { GpuFraction = 0.5, ComputePercent = 50 },
            "QUARTER" => new SliceProfile { GpuFraction = 0.25, ComputePercent = 25 },
            _ => null,
        };

    /// <summary>Every profile name a user may choose.</summary>
    public IReadOnlyList<string> ProfileNames() =>
        [.. BuiltInProfiles.Concat(Profiles.Keys).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase)];

    /// <summary>The scheduler's settings from these options.</summary>
    public SchedulerSettings ToSettings() => new()
    {
        UserQuotas = UserQuotas,
        GroupQuotas = GroupQuotas,
        DefaultUserQuota = DefaultUserQuota,
        InitialHoldEstimate = InitialHoldEstimate,
    };
}
