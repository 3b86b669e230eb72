using Microsoft.Extensions.Options;

namespace Attach.Agent.Gpu;

/// <summary>
/// Chooses the GPU backend at startup. There is no real (NVML / <c>nvidia-smi</c>) backend yet, so a node
/// with an NVIDIA device refuses to start rather than present simulated GPUs as if they were its own.
/// </summary>
internal sealed class GpuBackendSelector(IOptions<AgentOptions> options, INvidiaDeviceProbe probe, ILogger<GpuBackendSelector> logger)
{
    /// <summary>The reason given when the simulated backend is chosen explicitly.</summary>
    public const string ExplicitSimulatedReason = "Agent:Backend is \"simulated\"";

    /// <summary>The reason given when <c>auto</c> finds no NVIDIA device.</summary>
    public const string NoDeviceReason = "no NVIDIA device found (" + NvidiaDeviceProbe.ControlDevicePath + " absent, nvidia-smi not on PATH)";

    /// <summary>Builds the inventory for the configured backend.</summary>
    /// <exception cref="InvalidOperationException">An NVIDIA device was found and no real backend exists to drive it.</exception>
    public IGpuInventory Select()
    {
        var agent = options.Value;
        if (agent.Backend == GpuBackendMode.Simulated)
        {
            return Simulated(agent, ExplicitSimulatedReason);
        }

        var controlDevice = probe.ControlDeviceExists();
        var nvidiaSmi = probe.FindNvidiaSmi();
        if (!controlDevice && nvidiaSmi is null)
        {
            return Simulated(agent, NoDeviceReason);
        }

        var evidence = (controlDevice, nvidiaSmi) switch
        {
            (true, null) => $"{NvidiaDeviceProbe.ControlDevicePath} exists",
            (false, _) => $"nvidia-smi is on PATH at {nvidiaSmi}",
            _ => $"{NvidiaDeviceProbe.ControlDevicePath} exists, nvidia-smi is on PATH at {nvidiaSmi}",
        };
        logger.NvidiaBackendMissing(evidence);
        throw new InvalidOperationException(
            $"An NVIDIA device was found on this node ({evidence}), but the agent's NVML/nvidia-smi backend is not built yet, " +
            "so it cannot serve the real GPUs and will not pretend to. To run a simulated pool on this node explicitly, " +
            "set Agent__Backend=simulated (Agent:Backend in configuration).");
    }

    private SimulatedGpuInventory Simulated(AgentOptions agent, string reason)
    {
        var inventory = new SimulatedGpuInventory(agent.NodeId, agent.Simulated, reason);
        logger.GpuBackendSelected(inventory.Backend.Name, inventory.Backend.Simulated, inventory.Gpus.Count, agent.Simulated.Model, reason);
        return inventory;
    }
}
