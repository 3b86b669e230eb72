using System.ComponentModel.DataAnnotations;

namespace Attach.Broker.Scheduling;

/// <summary>Limits for one user or group (section <c>Broker:Scheduling:UserQuotas:&lt;name&gt;</c> or <c>GroupQuotas</c>).</summary>
internal sealed class SliceQuota
{
    /// <summary>Slices held at once; a request beyond it waits until one is released. Null: no limit.</summary>
    [Range(1, 100_000)]
    public int? MaxSlices { get; set; }

    /// <summary>
    /// GPU-hours per UTC day (a slice counts by its share of the GPU's memory: a quarter slice held for 4 h is one
    /// GPU-hour). A request once the day's hours are used up is refused until midnight UTC. Null: no limit.
    /// </summary>
    [Range(0.0, 1_000_000.0)]
    public double? GpuHoursPerDay { get; set; }
}
