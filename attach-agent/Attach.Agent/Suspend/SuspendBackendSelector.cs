using Attach.Agent.Gpu;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Suspend;

/// <summary>
/// Chooses how the node suspends processes: <c>cuda-checkpoint</c> for real GPUs, the simulated model for
/// simulated ones, unless <c>Agent:Suspend:Backend</c> says otherwise. Simulated GPUs have no processes for
/// <c>cuda-checkpoint</c> to act on, and real ones must never report simulated suspends.
/// </summary>
internal sealed class SuspendBackendSelector(
    IOptions<SuspendOptions> options, IGpuInventory inventory, IServiceProvider services, ILogger<SuspendBackendSelector> logger)
{
    public IProcessSuspender Select()
    {
        var (simulated, reason) = options.Value.Backend switch
        {
            SuspendBackendMode.Simulated => (true, "Agent:Suspend:Backend is \"simulated\""),
            SuspendBackendMode.CudaCheckpoint => (false, "Agent:Suspend:Backend is \"cudaCheckpoint\""),
            _ when inventory.Backend.Simulated => (true, $"the GPUs are simulated (GPU backend {inventory.Backend.Name})"),
            _ => (false, $"the GPUs are real (GPU backend {inventory.Backend.Name})"),
        };
        IProcessSuspender suspender = simulated
            ? services.GetRequiredService<SimulatedProcessSuspender>()
            : services.GetRequiredService<CudaCheckpointClient>();
        logger.SuspendBackendSelected(suspender.Name, suspender.Simulated, reason);
        return suspender;
    }
}
