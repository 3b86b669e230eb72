using Attach.Contracts.Pool;

namespace Attach.Agent.Gpu;

/// <summary>One <c>&lt;gpu&gt;</c> of <c>nvidia-smi -q -x</c>.</summary>
/// <param name="Uuid"><c>GPU-…</c>.</param>
/// <param name="ProductName">The product name; null when not printed.</param>
/// <param name="MemoryTotalMiB">Device memory; null when not reported.</param>
/// <param name="MemoryUsedMiB">Memory in use; null when not reported.</param>
/// <param name="UtilizationPercent">GPU utilisation; null when not reported (MIG mode).</param>
/// <param name="MigMode">The current MIG mode (<c>Enabled</c>, <c>Disabled</c>); null when MIG is not supported.</param>
/// <param name="MigInstances">The MIG devices; empty outside MIG mode.</param>
/// <param name="Processes">The processes using the GPU.</param>
internal sealed record NvidiaSmiLogGpu(
    string Uuid,
    string? ProductName,
    long? MemoryTotalMiB,
    long? MemoryUsedMiB,
    int? UtilizationPercent,
    string? MigMode,
    IReadOnlyList<MigInstanceReading> MigInstances,
    IReadOnlyList<GpuProcessReading> Processes);
