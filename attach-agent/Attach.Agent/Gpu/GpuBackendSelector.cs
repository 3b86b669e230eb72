using Microsoft.Extensions.Options;

namespace Attach.Agent.Gpu;

/// <summary>
/// Chooses the GPU backend at startup: the NVIDIA backend (<c>nvidia-smi</c>) where the node has an NVIDIA device,
/// the simulated pool where it has none. A node whose NVIDIA device cannot be read refuses to start rather than
/// present simulated GPUs as if they were its own.
/// </summary>
internal sealed class GpuBackendSelector(
    IOptions<AgentOptions> options,
    INvidiaDeviceProbe probe,
    INvidiaSmi nvidiaSmi,
    ILogger<GpuBackendSelector> logger)
{
    /// <summary>The reason given when the simulated backend is chosen explicitly.</summary>
    public const string ExplicitSimulatedReason = "Agent:Backend is \"simulated\"";

    /// <summary>The evidence given when the NVIDIA backend is chosen explicitly.</summary>
    public const string ExplicitNvidiaEvidence = "Agent:Backend is \"nvidia\"";

    /// <summary>The reason given when <c>auto</c> finds no NVIDIA device.</summary>
    public const string NoDeviceReason = "no NVIDIA device found (" + NvidiaDeviceProbe.ControlDevicePath + " absent, nvidia-smi not on PATH)";

    /// <summary>What to check when the NVIDIA backend cannot start.</summary>
    public const string FailureHint =
        "Check that `nvidia-smi` runs on this node as the agent's user and lists the GPUs, that the NVIDIA kernel module is loaded " +
        "(`lsmod | grep nvidia`), and that the agent may open /dev/nvidia* (in a container: the NVIDIA container runtime, e.g. " +
        "`docker run --gpus all`). To run a simulated pool on this node instead, set Agent__Backend=simulated (Agent:Backend in configuration).";

    /// <summary>Builds the inventory for the configured backend.</summary>
    /// <exception cref="InvalidOperationException">The NVIDIA backend is called for (by an NVIDIA device or by configuration) and cannot read the GPUs.</exception>
    public IGpuInventory Select()
    {
        var agent = options.Value;
        if (agent.Backend == GpuBackendMode.Simulated)
        {
            return Simulated(agent, ExplicitSimulatedReason);
        }

        var controlDevice = probe.ControlDeviceExists();
        var path = probe.FindNvidiaSmi();
        if (agent.Backend == GpuBackendMode.Auto && !controlDevice && path is null)
        {
            return Simulated(agent, NoDeviceReason);
        }

        var evidence = agent.Backend == GpuBackendMode.Nvidia
            ? ExplicitNvidiaEvidence
            : (controlDevice, path) switch
            {
                (true, null) => $"{NvidiaDeviceProbe.ControlDevicePath} exists",
                (false, _) => $"nvidia-smi is on PATH at {path}",
                _ => $"{NvidiaDeviceProbe.ControlDevicePath} exists, nvidia-smi is on PATH at {path}",
            };
        if (path is null)
        {
            throw Fail(evidence, "nvidia-smi is not on PATH, and the agent reads the GPUs through it.");
        }

        NvidiaSmiGpuInventory inventory;
        try
        {
            // Once, at startup, from the DI factory (no synchronisation context to deadlock on); bounded by
            // nvidia-smi's own timeout.
            inventory = NvidiaSmiGpuInventory.CreateAsync(nvidiaSmi, evidence, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception exception) when (exception is NvidiaSmiException or FormatException)
        {
            if (agent.Backend == GpuBackendMode.Auto && !controlDevice)
            {
                // The tools without the driver: typically a CUDA image started without --gpus. No device, no GPUs.
                logger.NvidiaSmiWithoutDevice(path, exception.Message);
                return Simulated(agent, $"nvidia-smi at {path} failed and {NvidiaDeviceProbe.ControlDevicePath} is absent: no usable NVIDIA device");
            }

            throw Fail(evidence, exception.Message, exception);
        }

        var models = string.Join(", ", inventory.Gpus.Select(gpu => gpu.Model).Distinct(StringComparer.Ordinal));
        logger.GpuBackendSelected(inventory.Backend.Name, simulated: false, inventory.Gpus.Count, models, inventory.Backend.Reason);
        return inventory;
    }

    private InvalidOperationException Fail(string evidence, string failure, Exception? cause = null)
    {
        logger.NvidiaBackendFailed(evidence, failure, FailureHint);
        return new InvalidOperationException($"The NVIDIA GPU backend cannot start ({evidence}): {failure} {FailureHint}", cause);
    }

    private SimulatedGpuInventory Simulated(AgentOptions agent, string reason)
    {
        var inventory = new SimulatedGpuInventory(agent.NodeId, agent.Simulated, reason);
        logger.GpuBackendSelected(inventory.Backend.Name, inventory.Backend.Simulated, inventory.Gpus.Count, agent.Simulated.Model, reason);
        return inventory;
    }
}
