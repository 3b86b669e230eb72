namespace Attach.Contracts.Pool;

/// <summary>One GPU as its agent reports it.</summary>
/// <param name="Index">Index on the node (as <c>nvidia-smi</c> numbers it).</param>
/// <param name="Uuid">Stable identity; <c>GPU-…</c> for NVIDIA devices, <c>SIM-…</c> for simulated ones.</param>
/// <param name="Model">The product name, e.g. "A100 80GB".</param>
/// <param name="MemoryTotalMiB">Device memory.</param>
/// <param name="Simulated">True when the GPU comes from the simulated backend and is not real hardware.</param>
public sealed record GpuInfo(int Index, string Uuid, string Model, long MemoryTotalMiB, bool Simulated)
{
    /// <summary>The name to show people: simulated GPUs always say so.</summary>
    public string DisplayName => Simulated ? $"{Model} (simulated)" : Model;
}
