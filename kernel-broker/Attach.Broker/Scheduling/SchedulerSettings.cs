namespace Attach.Broker.Scheduling;

/// <summary>The <see cref="PoolScheduler"/>'s policy, fixed for its lifetime.</summary>
internal sealed class SchedulerSettings
{
    /// <summary>Quotas by user name.</summary>
    public IReadOnlyDictionary<string, SliceQuota> UserQuotas { get; init; } = new Dictionary<string, SliceQuota>(StringComparer.Ordinal);

    /// <summary>Quotas by group name.</summary>
    public IReadOnlyDictionary<string, SliceQuota> GroupQuotas { get; init; } = new Dictionary<string, SliceQuota>(StringComparer.Ordinal);

    /// <summary>The quota of a user not listed in <see cref="UserQuotas"/>; null for none.</summary>
    public SliceQuota? DefaultUserQuota { get; init; }

    /// <summary>The hold time assumed for ETAs until real holds have been observed.</summary>
    public TimeSpan InitialHoldEstimate { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How many blocked waiters one scheduling pass looks at before it stops. Each blocked waiter reserves a GPU that
    /// later (smaller) requests may not take, so a large request is not starved by a stream of small ones; the bound
    /// keeps a pass cheap with thousands waiting.
    /// </summary>
    public int MaxBlockedPerPass { get; init; } = 32;
}
