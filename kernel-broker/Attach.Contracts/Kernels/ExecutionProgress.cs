namespace Attach.Contracts.Kernels;

/// <summary>A progress report for a held cell, streamed before the final <see cref="ExecutionDecision"/>.</summary>
/// <param name="Phase">What the cell waits on.</param>
/// <param name="QueuePosition">1-based place in the queue, when queued.</param>
/// <param name="QueueLength">How many requests wait in the queue in all, when queued.</param>
/// <param name="EtaSeconds">The broker's estimate of the remaining wait, when known.</param>
/// <param name="Message">One line for the cell, e.g. "waiting for a GPU: position 2 of 5, about 40 s".</param>
public sealed record ExecutionProgress(
    ExecutionPhase Phase,
    int? QueuePosition,
    int? QueueLength,
    double? EtaSeconds,
    string Message);
