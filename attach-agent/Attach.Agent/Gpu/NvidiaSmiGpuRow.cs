namespace Attach.Agent.Gpu;

/// <summary>One GPU from <c>nvidia-smi --query-gpu</c>.</summary>
/// <param name="Index">nvidia-smi's index.</param>
/// <param name="Uuid"><c>GPU-…</c>.</param>
/// <param name="Name">The product name.</param>
/// <param name="MemoryTotalMiB">Device memory.</param>
/// <param name="MemoryUsedMiB">Memory in use; null when not reported.</param>
/// <param name="UtilizationPercent">GPU utilisation; null when not reported (MIG mode).</param>
/// <param name="DriverVersion">The driver's version; null when the column was not queried.</param>
/// <param name="MigMode">The current MIG mode (<c>Enabled</c>, <c>Disabled</c>); null when MIG is not supported.</param>
internal sealed record NvidiaSmiGpuRow(
    int Index,
    string Uuid,
    string Name,
    long MemoryTotalMiB,
    long? MemoryUsedMiB,
    int? UtilizationPercent,
    string? DriverVersion,
    string? MigMode);
