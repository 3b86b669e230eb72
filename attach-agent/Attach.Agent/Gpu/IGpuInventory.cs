using Attach.Contracts.Pool;

namespace Attach.Agent.Gpu;

/// <summary>The node's GPUs and the backend that found them.</summary>
internal interface IGpuInventory
{
    /// <summary>Which backend is in use and why it was chosen.</summary>
    GpuBackendInfo Backend { get; }

    /// <summary>The GPUs, ordered by index.</summary>
    IReadOnlyList<GpuInfo> Gpus { get; }
}
