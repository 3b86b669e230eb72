namespace Attach.Contracts.Pool;

/// <summary>A slice bound on an agent, with the environment a process needs to use it.</summary>
/// <param name="LeaseId">The broker's lease id.</param>
/// <param name="Epoch">The lease's fencing token.</param>
/// <param name="KernelId">The kernel holding the slice.</param>
/// <param name="Gpu">The GPU the slice is on.</param>
/// <param name="MemoryMiB">Device memory granted.</param>
/// <param name="ComputePercent">Share of the GPU's SMs.</param>
/// <param name="Environment">
/// What the process must see: <c>CUDA_VISIBLE_DEVICES</c> by UUID and, for a slice, HAMi-core's
/// <c>CUDA_DEVICE_MEMORY_LIMIT</c> and <c>CUDA_DEVICE_SM_LIMIT</c>.
/// </param>
/// <param name="BoundAt">When the agent bound it.</param>
/// <param name="Owner">The user the kernel belongs to, as the broker said when binding; empty when it did not say.</param>
/// <param name="MigUuid">The MIG instance (<c>MIG-…</c>) the slice is, on a GPU in MIG mode; null otherwise.</param>
public sealed record BindingInfo(
    string LeaseId,
    long Epoch,
    string KernelId,
    GpuInfo Gpu,
    long MemoryMiB,
    int ComputePercent,
    IReadOnlyDictionary<string, string> Environment,
    DateTimeOffset BoundAt,
    string Owner = "",
    string? MigUuid = null);
