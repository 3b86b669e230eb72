using System.Net;
using Attach.Agent.Broker;
using Attach.Contracts.Kernels;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace Attach.Agent.Shim;

/// <summary>
/// Leases for shim processes from the broker: <c>POST api/v1/kernels/{session}/runtime-attach</c>, asked again every
/// <see cref="ShimOptions.QueuePollInterval"/> while the answer is <see cref="RuntimeAttachStatus.Queued"/> (each
/// answer is short, so the broker pipeline's timeouts hold and every poll refreshes the queue position), and
/// <c>POST api/v1/kernels/{session}/release</c>.
/// </summary>
internal sealed class BrokerShimLeaseClient(
    BrokerClient broker,
    IOptions<AgentOptions> agentOptions,
    IOptions<ShimOptions> shimOptions,
    TimeProvider timeProvider,
    ILogger<BrokerShimLeaseClient> logger) : IShimLeaseBroker
{
    public async Task<ShimLeaseDecision> RequestAsync(
        ShimLeaseRequest request, Func<ShimQueuePosition, CancellationToken, ValueTask> onQueued, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(onQueued);
        var peer = request.Peer;
        var body = new RuntimeAttachRequest(agentOptions.Value.NodeId, peer.Pid, peer.Uid, peer.Gid, request.MemoryMiB, request.Wait, request.Priority);
        var queued = false;
        try
        {
            while (true)
            {
                RuntimeAttachDecision decision;
                try
                {
                    decision = await broker.RequestRuntimeAttachAsync(request.Session, body, cancellationToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // A request that had a queue place keeps it at the broker until the broker expires it.
                    return Refusal(request.Session, exception);
                }

                switch (decision.Status)
                {
                    case RuntimeAttachStatus.Granted when decision.Attachment is { } attachment:
                        return ShimLeaseDecision.Grant(attachment, decision.NewlyAttached);
                    case RuntimeAttachStatus.Granted:
                        return ShimLeaseDecision.Refuse(ShimErrorCodes.Refused, "The broker granted the lease but sent no attachment; check the broker's version and log.");
                    case RuntimeAttachStatus.Queued when !request.Wait:
                        await DropQueuedAsync(request, "the process asked not to wait");
                        return ShimLeaseDecision.Refuse(ShimErrorCodes.NoCapacity, "No GPU slice is free now and the process asked not to wait. Ask again later, or wait in the queue.");
                    case RuntimeAttachStatus.Queued:
                        queued = true;
                        var eta = decision.EtaSeconds is { } seconds and >= 0 ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
                        await onQueued(new ShimQueuePosition(Math.Max(decision.QueuePosition ?? 1, 1), eta), cancellationToken);
                        await Task.Delay(shimOptions.Value.QueuePollInterval, timeProvider, cancellationToken);
                        break;
                    default:
                        return ShimLeaseDecision.Refuse(ShimErrorCodes.Refused, decision.Error ?? "The broker refused the lease without saying why; check the broker's log.");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && queued)
        {
            await DropQueuedAsync(request, "the process went away or released while queued");
            throw;
        }
    }

    public Task ReleaseAsync(ShimLeaseRelease release, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(release);
        return broker.ReleaseRuntimeAttachAsync(release.Session, new RuntimeReleaseRequest(release.LeaseId, release.Peer.Pid, release.Reason), cancellationToken);
    }

    /// <summary>Gives up a queue place (a release without a lease id); the broker expires it anyway if this fails.</summary>
    private async Task DropQueuedAsync(ShimLeaseRequest request, string reason)
    {
        try
        {
            await broker.ReleaseRuntimeAttachAsync(request.Session, new RuntimeReleaseRequest(null, request.Peer.Pid, reason), CancellationToken.None);
        }
        catch (Exception exception) when (exception is HttpRequestException or Polly.ExecutionRejectedException or OperationCanceledException)
        {
            logger.ShimQueueDropFailed(request.Session, request.Peer.Pid, exception.Message);
        }
    }

    private static ShimLeaseDecision Refusal(string session, Exception exception) => exception switch
    {
        HttpRequestException { StatusCode: HttpStatusCode.NotFound } => ShimLeaseDecision.Refuse(ShimErrorCodes.Refused,
            $"The broker knows no session '{session}'. Start the process through 'attach run' or a kernel that sets ATTACH_SESSION."),
        HttpRequestException { StatusCode: HttpStatusCode.BadRequest } => ShimLeaseDecision.Refuse(ShimErrorCodes.Refused,
            $"The broker rejected the request for session '{session}' as malformed; check that the agent and the broker run the same version."),
        HttpRequestException { StatusCode: HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden } => ShimLeaseDecision.Refuse(ShimErrorCodes.BrokerUnreachable,
            "The broker did not accept the agent's key; check that Attach:InternalKey is the same on this agent and on the broker."),
        HttpRequestException { StatusCode: { } status } => ShimLeaseDecision.Refuse(ShimErrorCodes.BrokerUnreachable,
            $"The broker failed ({(int)status}); its log says why. Try again later."),
        TimeoutRejectedException or OperationCanceledException => ShimLeaseDecision.Refuse(ShimErrorCodes.BrokerUnreachable,
            "The broker did not answer in time. Try again later."),
        _ => ShimLeaseDecision.Refuse(ShimErrorCodes.BrokerUnreachable,
            $"The agent could not reach the broker ({exception.Message}). Try again later."),
    };
}
