using System.ComponentModel.DataAnnotations;

namespace Attach.Agent;

/// <summary>The simulated pool (<c>Agent:Simulated</c>), used where no NVIDIA device exists.</summary>
internal sealed class SimulatedGpuOptions
{
    /// <summary>How many GPUs the node pretends to have.</summary>
    [Range(1, 64, ErrorMessage = "Agent:Simulated:GpuCount must be between 1 and 64.")]
    public int GpuCount { get; set; } = 4;

    /// <summary>The product name every simulated GPU reports.</summary>
    [Required(ErrorMessage = "Agent:Simulated:Model must not be empty.")]
    [MaxLength(100)]
    public string Model { get; set; } = "A100 80GB";

    /// <summary>Device memory of each simulated GPU.</summary>
    [Range(typeof(long), "1024", "4194304", ErrorMessage = "Agent:Simulated:MemoryMiB must be between 1024 and 4194304 (4 TiB).")]
    public long MemoryMiB { get; set; } = 81920;
}
