namespace Attach.Contracts.Kernels;

/// <summary>
/// One line of the broker's streamed answer to an execution request (<see cref="AttachMediaTypes.NdJson"/>):
/// zero or more progress lines, then exactly one line carrying the decision.
/// </summary>
/// <param name="Progress">A progress report, on every line but the last.</param>
/// <param name="Decision">The final decision, on the last line only.</param>
public sealed record ExecutionUpdate(ExecutionProgress? Progress, ExecutionDecision? Decision);
