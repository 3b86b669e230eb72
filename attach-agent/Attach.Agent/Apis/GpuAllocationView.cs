using Attach.Contracts.Pool;

namespace Attach.Agent.Apis;

/// <summary>One GPU in <see cref="NodeGpusView"/>.</summary>
/// <param name="Gpu">The GPU.</param>
/// <param name="AllocatedMiB">Memory bound to slices.</param>
/// <param name="FreeMiB">Memory not bound to any slice.</param>
/// <param name="AllocatedComputePercent">Sum of the slices' compute shares.</param>
/// <param name="Bindings">The slices bound on it.</param>
/// <param name="MemoryUsedMiB">Device memory in use at the last reading; for a simulated GPU, the memory bound to slices.</param>
/// <param name="UtilizationPercent">Utilisation at the last reading; for a simulated GPU, the slices' compute shares.</param>
/// <param name="DriverVersion">The NVIDIA driver's version; null for a simulated GPU.</param>
/// <param name="Processes">Processes using it at the last reading (none for a simulated GPU).</param>
/// <param name="Mig">MIG mode and instances; null when the GPU does not support MIG.</param>
internal sealed record GpuAllocationView(
    GpuInfo Gpu,
    long AllocatedMiB,
    long FreeMiB,
    int AllocatedComputePercent,
    IReadOnlyList<BindingInfo> Bindings,
    long? MemoryUsedMiB = null,
    int? UtilizationPercent = null,
    string? DriverVersion = null,
    IReadOnlyList<GpuProcessReading>? Processes = null,
    GpuMigReading? Mig = null);
