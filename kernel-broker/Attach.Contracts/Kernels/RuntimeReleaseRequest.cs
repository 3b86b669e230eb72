namespace Attach.Contracts.Kernels;

/// <summary>
/// An agent gives back a lease its shim clients held, or drops a queued runtime request:
/// <c>POST /api/v1/kernels/{session}/release</c>.
/// </summary>
/// <param name="LeaseId">The lease to release; null to drop the session's queued request. A lease that is no
/// longer the session's current one is left alone (it was re-issued since).</param>
/// <param name="Pid">The process whose exit or request ended the lease, from SO_PEERCRED.</param>
/// <param name="Reason">Why, in words for logs and the UI (e.g. "process 4242 exited").</param>
public sealed record RuntimeReleaseRequest(string? LeaseId, int Pid, string Reason);
