namespace Attach.Simulation.Workday;

/// <summary>A slice size a session asks for, as a share of one GPU.</summary>
/// <param name="Name">The broker's profile name (full, half, quarter).</param>
/// <param name="MemoryMiB">Device memory of the slice.</param>
/// <param name="ComputePercent">Share of the GPU's SMs.</param>
/// <param name="Weight">How often sessions pick this profile, relative to the others.</param>
internal sealed record SliceProfile(string Name, long MemoryMiB, int ComputePercent, double Weight);
