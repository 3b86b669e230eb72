namespace Attach.Agent.Suspend;

/// <summary>How the agent suspends processes (<c>Agent:Suspend:Backend</c>).</summary>
internal enum SuspendBackendMode
{
    /// <summary>Follow the GPU backend: <c>cuda-checkpoint</c> for real GPUs, the simulated model for simulated ones.</summary>
    Auto,

    /// <summary>Always NVIDIA's <c>cuda-checkpoint</c>.</summary>
    CudaCheckpoint,

    /// <summary>Always the simulated model.</summary>
    Simulated,
}
