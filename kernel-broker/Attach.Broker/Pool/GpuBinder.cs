using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;

namespace Attach.Broker.Pool;

/// <summary>Reserves in the <see cref="LeaseTable"/>, then has the chosen agent bind or unbind.</summary>
internal sealed class GpuBinder(LeaseTable leases, AgentClient agents, TimeProvider timeProvider, ILogger<GpuBinder> logger) : IGpuBinder
{
    public async Task<AttachmentInfo> BindAsync(string kernelId, string owner, SliceRequest request, DateTimeOffset requestedAt, IQueueObserver? observer, CancellationToken cancellationToken)
    {
        var reservation = leases.Reserve(kernelId, owner, request, wait: observer is not null, observer);
        var lease = reservation switch
        {
            { Lease: { } placed } => Placed(placed, observer),
            { Ticket: { } ticket } => await WaitForSliceAsync(ticket, cancellationToken),
            _ => throw new AttachFailedException(reservation.Failure!),
        };

        try
        {
            await agents.BindSliceAsync(
                lease.AgentUrl,
                new BindRequest(lease.LeaseId, lease.Epoch, kernelId, lease.Gpu.Index, lease.MemoryMiB, lease.ComputePercent, owner, lease.MigUuid),
                cancellationToken);
        }
        catch (AgentCallException ex)
        {
            // The agent may have bound before failing to answer: keep the capacity until its ledger says otherwise.
            leases.SetStatus(lease.LeaseId, LeaseStatus.Releasing);
            Log.BindFailed(logger, kernelId, lease.LeaseId, lease.NodeId, ex.Message);
            throw new AttachFailedException(ex.Message, ex);
        }

        if (!leases.SetStatus(lease.LeaseId, LeaseStatus.Bound))
        {
            // The node was declared dead (no heartbeat past the lease TTL) while the bind was in flight: its lease is gone.
            throw new AttachFailedException(
                $"node {lease.NodeId} stopped sending heartbeats while GPU {lease.Gpu.Index} was being bound, so the broker took the slice back; run the cell again to get a GPU on a node that is up");
        }

        var wait = timeProvider.GetUtcNow() - requestedAt;
        return new AttachmentInfo(
            lease.LeaseId,
            lease.NodeId,
            lease.Gpu.Index,
            lease.Gpu.Uuid,
            lease.Gpu.DisplayName,
            lease.Gpu.Simulated,
            lease.MemoryMiB,
            lease.Gpu.MemoryTotalMiB,
            Math.Max(0, wait.TotalSeconds));
    }

    private static Lease Placed(Lease lease, IQueueObserver? observer)
    {
        observer?.Placed(lease.NodeId, lease.Gpu.Index, lease.Gpu.DisplayName);
        return lease;
    }

    public void ExpectRelease(string leaseId, DateTimeOffset? at) => leases.ExpectRelease(leaseId, at);

    /// <summary>
    /// Waits for the queue to place the request. Cancelled while it still waits, it leaves the queue; cancelled just
    /// after a slice was placed for it, it keeps the slice (the idle policy gives it back if nobody uses it).
    /// </summary>
    private async Task<Lease> WaitForSliceAsync(QueueTicket ticket, CancellationToken cancellationToken)
    {
        try
        {
            return await ticket.Placed.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !ticket.Placed.IsCanceled)
        {
            if (leases.CancelWait(ticket.KernelId))
            {
                throw;
            }

            return await ticket.Placed;
        }
    }

    /// <summary>The titles of the agent's refusals that mean "nothing to suspend" (see the agent's SuspendApi).</summary>
    private static readonly string[] NothingToSuspend = ["No process to suspend", "The process has no CUDA state"];

    public async Task<SuspendResumeResult?> SuspendAsync(string leaseId, int? pid, CancellationToken cancellationToken)
    {
        var lease = leases.Snapshot().FirstOrDefault(l => l.LeaseId == leaseId);
        if (lease is null)
        {
            return null;
        }

        try
        {
            var result = await agents.SuspendAsync(lease.AgentUrl, leaseId, new SuspendRequest(pid), cancellationToken);
            if (result.Pid <= 0 || result.Operation != SuspendOperation.Suspend || result.Gpu is null)
            {
                // Not a suspend result (an agent too old to know the route answered something else): resuming it could not work.
                throw new AttachFailedException($"the agent at {lease.AgentUrl} did not answer the suspend with a suspend result; is it older than the broker?");
            }

            Log.LeaseSuspended(logger, lease.KernelId, leaseId, lease.NodeId, lease.Gpu.Index, result.Pid, result.BytesMoved, result.Seconds);
            return result;
        }
        catch (AgentCallException ex) when (ex.Title is { } title && NothingToSuspend.Contains(title, StringComparer.Ordinal))
        {
            Log.NothingToSuspend(logger, lease.KernelId, leaseId, ex.Message);
            return null;
        }
        catch (AgentCallException ex)
        {
            throw new AttachFailedException($"the process could not be suspended to host memory: {ex.Message}", ex);
        }
    }

    public async Task<SuspendResumeResult> ResumeAsync(string leaseId, int pid, int targetGpuIndex, CancellationToken cancellationToken)
    {
        var lease = leases.Snapshot().FirstOrDefault(l => l.LeaseId == leaseId)
            ?? throw new AttachFailedException($"lease {leaseId} is gone (its node stopped sending heartbeats) before the process could be resumed; run the cell again");
        try
        {
            var result = await agents.ResumeAsync(lease.AgentUrl, leaseId, new ResumeRequest(pid, targetGpuIndex), cancellationToken);
            Log.LeaseResumed(logger, lease.KernelId, leaseId, lease.NodeId, targetGpuIndex, pid, result.BytesMoved, result.Seconds);
            return result;
        }
        catch (AgentCallException ex)
        {
            throw new AttachFailedException($"the process could not be resumed from host memory: {ex.Message}", ex);
        }
    }

    public async Task UnbindAsync(string leaseId, CancellationToken cancellationToken)
    {
        var lease = leases.Snapshot().FirstOrDefault(l => l.LeaseId == leaseId);
        if (lease is null)
        {
            return;
        }

        leases.SetStatus(leaseId, LeaseStatus.Releasing);
        try
        {
            await agents.UnbindSliceAsync(lease.AgentUrl, lease.LeaseId, lease.Epoch, cancellationToken);
        }
        catch (AgentCallException ex) when (ex.NotFound)
        {
            // Already unbound (a retried release): the agent does not hold it, so the capacity is free.
        }
        catch (AgentCallException ex)
        {
            throw new AttachFailedException($"the slice could not be released: {ex.Message}. It stays reserved until the agent confirms.", ex);
        }

        leases.Remove(leaseId);
    }
}
