namespace Attach.Agent.Shim;

/// <summary>What the shim socket needs from the broker: a lease for a session's process, and its release.</summary>
internal interface IShimLeaseBroker
{
    /// <summary>
    /// Asks for a lease for <see cref="ShimLeaseRequest.Session"/>, reporting every queue position through
    /// <paramref name="onQueued"/> until the lease is granted or refused. Cancelling abandons the request (and its
    /// queue place). Failures to reach the broker come back as a refusal, not an exception.
    /// </summary>
    Task<ShimLeaseDecision> RequestAsync(
        ShimLeaseRequest request, Func<ShimQueuePosition, CancellationToken, ValueTask> onQueued, CancellationToken cancellationToken);

    /// <summary>Gives a granted lease back.</summary>
    /// <exception cref="HttpRequestException">The broker could not be reached or refused the release.</exception>
    Task ReleaseAsync(ShimLeaseRelease release, CancellationToken cancellationToken);
}
