namespace Attach.Contracts.Kernels;

/// <summary>
/// What the gateway observed on one user's kernel channels since its last report, in order
/// (<c>POST /api/v1/kernels/reports</c>): busy/idle, and the cells it sent to the kernel without waiting for a decision
/// because they show no GPU evidence (<see cref="ExecutionRuleSet"/>). One request for many observations, so reporting
/// costs the broker a request per batch, not several per cell.
/// </summary>
/// <param name="Reports">At most <see cref="MaxReports"/> observations, oldest first.</param>
public sealed record KernelReportBatch(IReadOnlyList<KernelReport> Reports)
{
    /// <summary>The most observations one batch may carry.</summary>
    public const int MaxReports = 1000;
}

/// <summary>One observation of a <see cref="KernelReportBatch"/>: exactly one of <paramref name="Activity"/> and <paramref name="Forwarded"/>.</summary>
/// <param name="KernelId">The kernel.</param>
/// <param name="Activity">The kernel went busy or idle for an <c>execute_request</c>.</param>
/// <param name="Forwarded">A cell the gateway sent to the kernel without waiting for the broker.</param>
public sealed record KernelReport(string KernelId, KernelActivityReport? Activity, ExecutionRequest? Forwarded);
