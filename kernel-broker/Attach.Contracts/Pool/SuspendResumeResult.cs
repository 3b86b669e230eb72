namespace Attach.Contracts.Pool;

/// <summary>What a suspend or resume did.</summary>
/// <param name="LeaseId">The lease the process runs under.</param>
/// <param name="Pid">The process.</param>
/// <param name="Operation">Suspend or resume.</param>
/// <param name="State">The process's CUDA state afterwards.</param>
/// <param name="BytesMoved">
/// Device memory copied to host memory (suspend) or back to the GPU (resume); null when the agent cannot tell.
/// </param>
/// <param name="Seconds">How long the operation took.</param>
/// <param name="Simulated">True when no real process or GPU was involved (the simulated backend).</param>
/// <param name="Gpu">The GPU the process was suspended from, or resumed onto.</param>
/// <param name="Summary">One sentence for people, e.g. for the notebook's status line.</param>
public sealed record SuspendResumeResult(
    string LeaseId,
    int Pid,
    SuspendOperation Operation,
    CudaProcessState State,
    long? BytesMoved,
    double Seconds,
    bool Simulated,
    GpuInfo Gpu,
    string Summary);
