namespace Attach.Contracts.Pool;

/// <summary>An agent's registration and periodic heartbeat to the broker.</summary>
/// <param name="NodeId">The node's name, unique in the pool.</param>
/// <param name="AgentUrl">Where the broker reaches the agent's API.</param>
/// <param name="Backend">The GPU backend in use ("simulated", "nvidia-smi", …) and why it was chosen.</param>
/// <param name="Gpus">The node's GPUs.</param>
/// <param name="Bindings">Every slice the agent holds bound right now (its ledger).</param>
/// <param name="Mig">
/// The MIG layout of each GPU in MIG mode (absent or empty: no GPU is); the broker places whole MIG instances on them
/// instead of slicing by memory.
/// </param>
/// <param name="Readings">
/// The agent's latest reading of each GPU (absent: none yet, or an older agent). The broker keeps every slice on a GPU
/// whose utilisation is at or above <c>Broker:Scheduling:BusyUtilizationPercent</c> from being released as idle.
/// </param>
public sealed record NodeHeartbeat(
    string NodeId,
    Uri AgentUrl,
    GpuBackendInfo Backend,
    IReadOnlyList<GpuInfo> Gpus,
    IReadOnlyList<BindingInfo> Bindings,
    IReadOnlyList<GpuMigLayout>? Mig = null,
    IReadOnlyList<GpuReading>? Readings = null);

/// <summary>Which GPU backend an agent uses.</summary>
/// <param name="Name">"simulated", or a real backend's name.</param>
/// <param name="Simulated">True for the simulated backend.</param>
/// <param name="Reason">Why the agent chose it (e.g. "no NVIDIA device found: /dev/nvidiactl is absent").</param>
public sealed record GpuBackendInfo(string Name, bool Simulated, string Reason);
