using System.ComponentModel.DataAnnotations;

namespace Attach.Broker.Scheduling;

/// <summary>Whether interactive requests may take GPUs from batch work (section <c>Broker:Scheduling:Preemption</c>).</summary>
internal sealed class PreemptionOptions
{
    /// <summary>Off (the default): interactive requests wait like any other. SuspendBatch: see <see cref="PoolScheduler.PreemptionVictims"/>.</summary>
    public PreemptionMode Mode { get; set; } = PreemptionMode.Off;

    /// <summary>Only batch slices held at least this long may be suspended for an interactive request.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan OlderThan { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A batch slice is never preempted within this time of its placement (against thrash), whatever <see cref="OlderThan"/> says.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan BatchMinimumHold { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>The preemption policy's modes.</summary>
internal enum PreemptionMode
{
    /// <summary>Nothing is preempted.</summary>
    Off,

    /// <summary>An interactive request that would wait may have batch slices suspended to host memory and re-queued.</summary>
    SuspendBatch,
}
