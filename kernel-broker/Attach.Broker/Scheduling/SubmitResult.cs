namespace Attach.Broker.Scheduling;

/// <summary>What <see cref="PoolScheduler.Submit"/> did with a request.</summary>
internal enum SubmitOutcome
{
    /// <summary>Placed now; <see cref="SubmitResult.Allocation"/> says where.</summary>
    Placed,

    /// <summary>Waiting in the queue; <see cref="SubmitResult.Reason"/> says for what.</summary>
    Queued,

    /// <summary>Will never be placed as asked (over a daily quota, larger than any GPU, no such node).</summary>
    Refused,
}

/// <summary>The answer to one <see cref="PoolScheduler.Submit"/>.</summary>
/// <param name="Outcome">Placed, queued or refused.</param>
/// <param name="Allocation">The slice, when placed.</param>
/// <param name="Reason">Why it waits or was refused, in words a user can act on.</param>
internal sealed record SubmitResult(SubmitOutcome Outcome, SliceAllocation? Allocation, string? Reason);
