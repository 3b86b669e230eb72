namespace Attach.Contracts.Pool;

/// <summary>What one GPU is doing, as its agent last read it.</summary>
/// <param name="Index">Index on the node (as <c>nvidia-smi</c> numbers it).</param>
/// <param name="Uuid">The GPU's identity, as in <see cref="GpuInfo.Uuid"/>.</param>
/// <param name="Simulated">
/// True when the reading comes from the simulated backend: it reports the slices bound in the agent's ledger, not
/// hardware.
/// </param>
/// <param name="MemoryUsedMiB">Device memory in use; null when the driver does not report it.</param>
/// <param name="UtilizationPercent">
/// Share of the driver's last sample period in which a kernel ran; null when not reported (NVIDIA reports none for
/// a GPU in MIG mode).
/// </param>
/// <param name="DriverVersion">The NVIDIA driver's version; null for simulated GPUs.</param>
/// <param name="Processes">Processes holding a context on the GPU.</param>
/// <param name="Mig">MIG mode and instances; null when the GPU does not support MIG.</param>
public sealed record GpuReading(
    int Index,
    string Uuid,
    bool Simulated,
    long? MemoryUsedMiB,
    int? UtilizationPercent,
    string? DriverVersion,
    IReadOnlyList<GpuProcessReading> Processes,
    GpuMigReading? Mig);
