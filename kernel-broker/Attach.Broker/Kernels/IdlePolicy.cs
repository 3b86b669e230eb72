using Attach.Broker.Scheduling;

namespace Attach.Broker.Kernels;

/// <summary>
/// When an idle kernel's slice goes back to the pool, per slice profile: after <see cref="IdleRule.IdleTimeout"/>
/// without GPU work, but never before <see cref="IdleRule.MinimumHold"/> since the attach, so a kernel that pauses
/// between cells right after attaching does not lose and regain its GPU over and over.
/// </summary>
internal sealed class IdlePolicy
{
    private readonly IdleRule _default;
    private readonly Dictionary<string, IdleRule> _profiles = new(StringComparer.OrdinalIgnoreCase);

    public IdlePolicy(TimeSpan idleTimeout, TimeSpan minimumHold = default, IReadOnlyDictionary<string, IdleProfile>? profiles = null)
    {
        _default = new IdleRule(idleTimeout, minimumHold);
        foreach (var (name, profile) in profiles ?? new Dictionary<string, IdleProfile>())
        {
            _profiles[name] = new IdleRule(profile.IdleTimeout ?? idleTimeout, profile.MinimumHold ?? minimumHold);
        }
    }

    /// <summary>The policy from <c>Broker:IdleTimeout</c>, <c>Broker:Scheduling:MinimumHold</c> and <c>Broker:Scheduling:Idle</c>.</summary>
    public static IdlePolicy From(BrokerOptions broker, SchedulingOptions? scheduling)
    {
        ArgumentNullException.ThrowIfNull(broker);
        return new IdlePolicy(broker.IdleTimeout, scheduling?.MinimumHold ?? TimeSpan.Zero, scheduling?.Idle);
    }

    /// <summary>The rule of the slice profile an attach asked for; the default for none or a profile without its own.</summary>
    public IdleRule For(string? profile) => profile is not null && _profiles.TryGetValue(profile, out var rule) ? rule : _default;
}

/// <summary>How long a slice may stay idle, and the least time it is held once attached.</summary>
internal readonly record struct IdleRule(TimeSpan IdleTimeout, TimeSpan MinimumHold);
