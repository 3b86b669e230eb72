namespace Attach.Agent;

/// <summary>How the agent chooses its GPU backend (<c>Agent:Backend</c>).</summary>
internal enum GpuBackendMode
{
    /// <summary>Use the node's NVIDIA devices when there are any, the simulated pool otherwise.</summary>
    Auto,

    /// <summary>Always the simulated pool, even on a node with NVIDIA devices.</summary>
    Simulated,

    /// <summary>Always the node's NVIDIA devices through <c>nvidia-smi</c>; the agent fails to start when it cannot read them.</summary>
    Nvidia,
}
