using Attach.Contracts.Pool;

namespace Attach.Agent.Suspend;

/// <summary>
/// Suspends a process's CUDA state to host memory and resumes it: what the broker's idle release and
/// preemption decisions need from a node. Every method reports what happened; none throws for a refusal
/// or a failure of the underlying tool (only for cancellation).
/// </summary>
internal interface IProcessSuspender
{
    /// <summary>The backend's name (<c>cuda-checkpoint</c> or <c>simulated</c>).</summary>
    string Name { get; }

    /// <summary>True when no real process or GPU is involved.</summary>
    bool Simulated { get; }

    /// <summary>The process's CUDA state.</summary>
    Task<ProcessStateReport> GetStateAsync(int pid, CancellationToken cancellationToken);

    /// <summary>Locks the process's CUDA calls, then copies its device memory to host memory and frees the GPU.</summary>
    Task<SuspendOutcome> SuspendAsync(CudaProcess process, CancellationToken cancellationToken);

    /// <summary>
    /// Copies the process's device memory back onto <paramref name="target"/> (the GPU it was suspended from,
    /// or another of the same model), then unlocks its CUDA calls.
    /// </summary>
    Task<SuspendOutcome> ResumeAsync(CudaProcess process, GpuInfo target, CancellationToken cancellationToken);
}
