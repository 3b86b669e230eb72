using System.ComponentModel.DataAnnotations;

namespace Attach.Agent.Suspend;

/// <summary>
/// The simulated suspend/resume costs (<c>Agent:Suspend:Simulated</c>); see <see cref="SimulatedProcessSuspender"/>
/// for the model. Defaults: a PCIe Gen5 x16 host link, ~50 GB/s effective each way.
/// </summary>
internal sealed class SimulatedSuspendOptions
{
    /// <summary>Effective device-to-host bandwidth of a checkpoint, in GB/s (10⁹ bytes per second).</summary>
    [Range(0.1, 10000.0, ErrorMessage = "Agent:Suspend:Simulated:CheckpointGBps must be between 0.1 and 10000.")]
    public double CheckpointGBps { get; set; } = 50;

    /// <summary>Effective host-to-device bandwidth of a restore, in GB/s (10⁹ bytes per second).</summary>
    [Range(0.1, 10000.0, ErrorMessage = "Agent:Suspend:Simulated:RestoreGBps must be between 0.1 and 10000.")]
    public double RestoreGBps { get; set; } = 50;

    /// <summary>
    /// Cost of every suspend and every resume that does not depend on size: locking (waiting for submitted work),
    /// releasing or re-creating contexts and mappings, unlocking.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true,
        ErrorMessage = "Agent:Suspend:Simulated:FixedOverhead must be between 00:00:00 and 00:01:00.")]
    public TimeSpan FixedOverhead { get; set; } = TimeSpan.FromMilliseconds(200);
}
