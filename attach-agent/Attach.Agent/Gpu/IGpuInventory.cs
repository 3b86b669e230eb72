using Attach.Contracts.Pool;

namespace Attach.Agent.Gpu;

/// <summary>The node's GPUs and the backend that found them.</summary>
internal interface IGpuInventory
{
    /// <summary>Which backend is in use and why it was chosen.</summary>
    GpuBackendInfo Backend { get; }

    /// <summary>The GPUs, ordered by index.</summary>
    IReadOnlyList<GpuInfo> Gpus { get; }

    /// <summary>Reads what every GPU is doing now, ordered by index.</summary>
    /// <param name="bindings">
    /// The slices bound in the ledger. The simulated backend reports them as its usage (it has nothing else to
    /// report); a real backend reads the hardware and ignores them.
    /// </param>
    /// <param name="cancellationToken">Cancels the reading.</param>
    /// <exception cref="NvidiaSmiException">A real backend could not read its GPUs.</exception>
    /// <exception cref="FormatException">A real backend's tool printed something its parser does not understand.</exception>
    Task<IReadOnlyList<GpuReading>> ReadAsync(IReadOnlyList<BindingInfo> bindings, CancellationToken cancellationToken);
}
