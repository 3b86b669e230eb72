using System.Diagnostics.CodeAnalysis;
using Attach.Contracts.Pool;

namespace Attach.Agent.Suspend;

/// <summary>A process's CUDA state, or why it could not be read.</summary>
/// <param name="Pid">The process.</param>
/// <param name="State">The state; null when <paramref name="Failure"/> says why there is none.</param>
/// <param name="Simulated">True when it comes from the simulated backend.</param>
/// <param name="Failure">Why the state could not be read.</param>
internal sealed record ProcessStateReport(int Pid, CudaProcessState? State, bool Simulated, SuspendFailure? Failure = null)
{
    [MemberNotNullWhen(true, nameof(State))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool Succeeded => Failure is null && State is not null;
}
