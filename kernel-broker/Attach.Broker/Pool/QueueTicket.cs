using Attach.Broker.Scheduling;

namespace Attach.Broker.Pool;

/// <summary>
/// A kernel's place in the scheduler's queue, handed out by <see cref="LeaseTable.Reserve"/>: <see cref="Placed"/>
/// completes with the reserved lease once a slice frees, or is cancelled when the request leaves the queue.
/// </summary>
internal sealed class QueueTicket(string kernelId, string reason, IQueueObserver? observer)
{
    private readonly TaskCompletionSource<Lease> _placed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private (int Position, int Length) _last;

    public string KernelId { get; } = kernelId;

    /// <summary>Why the request waits, as the scheduler said when it was queued.</summary>
    public string Reason { get; } = reason;

    /// <summary>The lease reserved for the request, once placed.</summary>
    public Task<Lease> Placed => _placed.Task;

    /// <summary>Records the standing; true when position or length changed since the last one. Called under the lease table's lock.</summary>
    internal bool Moved(WaiterInfo standing) => Moved(standing.Position, standing.QueueLength);

    /// <summary>Records the standing; true when position or length changed since the last one. Called under the lease table's lock.</summary>
    internal bool Moved(int position, int queueLength)
    {
        var now = (position, queueLength);
        if (now == _last)
        {
            return false;
        }

        _last = now;
        return true;
    }

    internal void Report(WaiterInfo standing) => observer?.Queued(standing);

    internal void Place(Lease lease)
    {
        observer?.Placed(lease.NodeId, lease.Gpu.Index, lease.Gpu.DisplayName);
        _placed.TrySetResult(lease);
    }

    internal void Cancel() => _placed.TrySetCanceled();
}
