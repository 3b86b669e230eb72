using System.ComponentModel.DataAnnotations;

namespace Attach.Broker.Scheduling;

/// <summary>
/// A named slice size (section <c>Broker:Scheduling:Profiles:&lt;name&gt;</c>): a share of whichever GPU the slice lands
/// on (<see cref="GpuFraction"/>) or a fixed size (<see cref="MemoryMiB"/>), and the compute share that goes with it.
/// </summary>
internal sealed class SliceProfile
{
    /// <summary>Share of the GPU's memory, above 0 and at most 1 (full: 1, half: 0.5); null when <see cref="MemoryMiB"/> is set.</summary>
    [Range(0.0001, 1.0)]
    public double? GpuFraction { get; set; }

    /// <summary>Device memory in MiB; null when <see cref="GpuFraction"/> is set.</summary>
    [Range(256, 4 * 1024 * 1024)]
    public long? MemoryMiB { get; set; }

    /// <summary>Share of the GPU's SMs.</summary>
    [Range(1, 100)]
    public int ComputePercent { get; set; } = 25;
}
