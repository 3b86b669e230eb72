namespace Attach.Contracts.Pool;

/// <summary>The broker asks an agent to bind a slice of one GPU to a kernel.</summary>
/// <param name="LeaseId">The broker's lease id; binding the same lease twice is a no-op.</param>
/// <param name="Epoch">The lease's fencing token.</param>
/// <param name="KernelId">The kernel the slice is for.</param>
/// <param name="GpuIndex">The GPU on the agent's node.</param>
/// <param name="MemoryMiB">Device memory for the slice.</param>
/// <param name="ComputePercent">Share of the GPU's SMs (100 = whole GPU).</param>
/// <param name="Owner">
/// The user the kernel belongs to. The agent keeps it in its ledger so that a broker which lost its state can give
/// the binding back to its owner; empty from callers that predate it.
/// </param>
/// <param name="MigUuid">
/// The MIG instance (<c>MIG-…</c>) the slice is, when the GPU is in MIG mode: the process sees that instance, not the
/// whole GPU. Null for a slice of a GPU not in MIG mode.
/// </param>
public sealed record BindRequest(string LeaseId, long Epoch, string KernelId, int GpuIndex, long MemoryMiB, int ComputePercent, string Owner = "", string? MigUuid = null);
