using System.ComponentModel.DataAnnotations;

namespace Attach.Broker.Scheduling;

/// <summary>
/// The idle policy of one slice profile (section <c>Broker:Scheduling:Idle:&lt;profile&gt;</c>), e.g. a whole GPU goes
/// back sooner than a quarter. Unset values fall back on <c>Broker:IdleTimeout</c> and <c>Broker:Scheduling:MinimumHold</c>.
/// </summary>
internal sealed class IdleProfile
{
    /// <summary>How long a kernel holding a slice of this profile may stay idle before the slice goes back to the pool.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "7.00:00:00")]
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>The least time a slice of this profile is held after the attach, however idle the kernel.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan? MinimumHold { get; set; }
}
