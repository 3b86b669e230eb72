using System.Diagnostics.CodeAnalysis;
using Attach.Contracts.Pool;

namespace Attach.Agent.Suspend;

/// <summary>What a suspend or resume did, or why it did not.</summary>
/// <param name="Operation">Suspend or resume.</param>
/// <param name="Pid">The process.</param>
/// <param name="State">
/// The process's CUDA state afterwards (after a failure too, when it could be read: a failed suspend that was
/// rolled back leaves it running).
/// </param>
/// <param name="BytesMoved">Device memory copied between GPU and host; null when unknown.</param>
/// <param name="Elapsed">How long the operation took.</param>
/// <param name="Simulated">True when it comes from the simulated backend.</param>
/// <param name="Gpu">The GPU suspended from or resumed onto.</param>
/// <param name="Failure">Why the operation did not complete.</param>
internal sealed record SuspendOutcome(
    SuspendOperation Operation,
    int Pid,
    CudaProcessState? State,
    long? BytesMoved,
    TimeSpan Elapsed,
    bool Simulated,
    GpuInfo Gpu,
    SuspendFailure? Failure = null)
{
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool Succeeded => Failure is null;
}
