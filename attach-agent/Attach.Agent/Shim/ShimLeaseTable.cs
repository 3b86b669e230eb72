using Attach.Agent.Slices;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Shim;

/// <summary>
/// The leases shim connections hold, by session. The broker leases a GPU to a session (a kernel, an
/// <c>attach run</c>), not to a process, so every process of a session shares the session's lease: the first one
/// asks the broker, the others join, and the lease goes back when its last holder releases it or exits. One gate per
/// session orders those steps, so a release never crosses a grant of the same lease. A lease the session already
/// held before its first shim asked (a notebook kernel attached by the gateway) is left to the broker's idle policy.
/// </summary>
internal sealed class ShimLeaseTable(IShimLeaseBroker broker, SliceLedger ledger, IOptions<AgentOptions> options, ILogger<ShimLeaseTable> logger)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SessionEntry> _sessions = new(StringComparer.Ordinal);

    /// <summary>Grants the session's lease to <paramref name="holder"/>, asking the broker unless the session holds it here already.</summary>
    public async Task<ShimAcquireResult> AcquireAsync(
        IShimLeaseHolder holder,
        ShimLeaseRequest request,
        Func<ShimQueuePosition, CancellationToken, ValueTask> onQueued,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(request);
        var entry = Enter(request.Session);
        try
        {
            await entry.Gate.WaitAsync(cancellationToken);
            try
            {
                lock (_lock)
                {
                    if (entry.Lease is { } held)
                    {
                        held.Holders.Add(holder);
                        logger.ShimLeaseJoined(held.Binding.LeaseId, request.Session, request.Peer.Pid, request.Peer.Uid, held.Holders.Count);
                        return ShimAcquireResult.Grant(held.Binding, held.Attachment);
                    }
                }

                return await AcquireFromBrokerAsync(entry, holder, request, onQueued, cancellationToken);
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        finally
        {
            Leave(entry);
        }
    }

    /// <summary>
    /// <paramref name="holder"/> lets go of the lease; the last holder's release gives the lease back to the broker.
    /// A lease revoked meanwhile is not held any more and there is nothing to do.
    /// </summary>
    public async Task ReleaseAsync(IShimLeaseHolder holder, string session, string leaseId, string reason)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var entry = Enter(session);
        try
        {
            // Not cancellable: a release that is skipped leaks a GPU slice.
            await entry.Gate.WaitAsync(CancellationToken.None);
            try
            {
                HeldLease lease;
                lock (_lock)
                {
                    if (entry.Lease is not { } held || !string.Equals(held.Binding.LeaseId, leaseId, StringComparison.Ordinal) || !held.Holders.Remove(holder))
                    {
                        return;
                    }

                    if (held.Holders.Count > 0)
                    {
                        logger.ShimLeaseLeft(leaseId, session, holder.Peer.Pid, reason, held.Holders.Count);
                        return;
                    }

                    lease = held;
                    entry.Lease = null;
                }

                await GiveBackAsync(session, leaseId, lease.ReleaseOnLastExit, holder.Peer, reason);
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        finally
        {
            Leave(entry);
        }
    }

    /// <summary>
    /// The lease was taken away from this node (the broker unbound it: idle policy, preemption): every holder is
    /// told and the lease leaves the table without a release to the broker. Returns how many connections held it.
    /// </summary>
    public async Task<int> RevokeAsync(string leaseId, string reason)
    {
        List<IShimLeaseHolder> holders;
        lock (_lock)
        {
            var entry = _sessions.Values.FirstOrDefault(candidate => string.Equals(candidate.Lease?.Binding.LeaseId, leaseId, StringComparison.Ordinal));
            if (entry?.Lease is not { } lease)
            {
                return 0;
            }

            holders = lease.Holders;
            entry.Lease = null;
            RemoveIfUnused_NeedsLock(entry);
        }

        logger.ShimLeaseRevoked(leaseId, holders.Count, reason);
        foreach (var holder in holders)
        {
            await holder.OnRevokedAsync(leaseId, reason);
        }

        return holders.Count;
    }

    /// <summary>The processes holding a lease, for diagnostics and tests.</summary>
    public IReadOnlyList<PeerCredentials> HoldersOf(string leaseId)
    {
        lock (_lock)
        {
            return _sessions.Values
                .Where(entry => string.Equals(entry.Lease?.Binding.LeaseId, leaseId, StringComparison.Ordinal))
                .SelectMany(entry => entry.Lease!.Holders.Select(holder => holder.Peer))
                .ToArray();
        }
    }

    private async Task<ShimAcquireResult> AcquireFromBrokerAsync(
        SessionEntry entry,
        IShimLeaseHolder holder,
        ShimLeaseRequest request,
        Func<ShimQueuePosition, CancellationToken, ValueTask> onQueued,
        CancellationToken cancellationToken)
    {
        var decision = await broker.RequestAsync(request, onQueued, cancellationToken);
        if (!decision.Granted)
        {
            logger.ShimLeaseRefused(request.Session, request.Peer.Pid, request.Peer.Uid, decision.ErrorCode, decision.Error);
            return ShimAcquireResult.Refuse(decision.ErrorCode, decision.Error);
        }

        var attachment = decision.Attachment;
        var nodeId = options.Value.NodeId;
        var binding = ledger.Snapshot().FirstOrDefault(candidate => string.Equals(candidate.LeaseId, attachment.LeaseId, StringComparison.Ordinal));
        if (binding is null)
        {
            var (code, error) = string.Equals(attachment.NodeId, nodeId, StringComparison.Ordinal)
                ? (ShimErrorCodes.NotBound,
                    $"The broker granted lease '{attachment.LeaseId}' on this node ({nodeId}) but the node has no binding for it; see the agent's and the broker's logs.")
                : (ShimErrorCodes.WrongNode,
                    $"Session '{request.Session}' holds its GPU on node '{attachment.NodeId}', not on this node ({nodeId}); a process can only use the GPUs of the node it runs on.");
            logger.ShimLeaseRefused(request.Session, request.Peer.Pid, request.Peer.Uid, code, error);
            if (decision.NewlyAttached)
            {
                // This request caused a lease nobody here can use: give it back at once.
                await GiveBackAsync(request.Session, attachment.LeaseId, releaseToBroker: true, request.Peer, $"unusable on node {nodeId}: {code}");
            }

            return ShimAcquireResult.Refuse(code, error);
        }

        lock (_lock)
        {
            var lease = new HeldLease(binding, attachment, decision.NewlyAttached);
            lease.Holders.Add(holder);
            entry.Lease = lease;
        }

        logger.ShimLeaseGranted(binding.LeaseId, request.Session, request.Peer.Pid, request.Peer.Uid, binding.Gpu.Index, binding.Gpu.DisplayName, binding.MemoryMiB, attachment.WaitSeconds);
        return ShimAcquireResult.Grant(binding, attachment);
    }

    private async Task GiveBackAsync(string session, string leaseId, bool releaseToBroker, PeerCredentials peer, string reason)
    {
        if (!releaseToBroker)
        {
            logger.ShimLeaseKept(leaseId, session, peer.Pid, reason);
            return;
        }

        try
        {
            await broker.ReleaseAsync(new ShimLeaseRelease(session, leaseId, peer, reason), CancellationToken.None);
            logger.ShimLeaseReleased(leaseId, session, peer.Pid, reason);
        }
        catch (Exception exception)
        {
            // The binding stays in the ledger and the next heartbeat reports it; the broker reconciles from there.
            logger.ShimBrokerReleaseFailed(leaseId, session, peer.Pid, exception.Message);
        }
    }

    private SessionEntry Enter(string session)
    {
        lock (_lock)
        {
            if (!_sessions.TryGetValue(session, out var entry))
            {
                entry = new SessionEntry(session);
                _sessions.Add(session, entry);
            }

            entry.Users++;
            return entry;
        }
    }

    private void Leave(SessionEntry entry)
    {
        lock (_lock)
        {
            entry.Users--;
            RemoveIfUnused_NeedsLock(entry);
        }
    }

    private void RemoveIfUnused_NeedsLock(SessionEntry entry)
    {
        if (entry.Users == 0 && entry.Lease is null)
        {
            _sessions.Remove(entry.Session);
            entry.Gate.Dispose();
        }
    }

    /// <summary>One session's gate and lease; it stays in the table while it is in use or holds a lease.</summary>
    private sealed class SessionEntry(string session)
    {
        public string Session { get; } = session;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public int Users { get; set; }

        public HeldLease? Lease { get; set; }
    }

    private sealed class HeldLease(BindingInfo binding, AttachmentInfo attachment, bool releaseOnLastExit)
    {
        public BindingInfo Binding { get; } = binding;

        public AttachmentInfo Attachment { get; } = attachment;

        /// <summary>False when the session held the lease before its first shim asked: the broker's idle policy owns it.</summary>
        public bool ReleaseOnLastExit { get; } = releaseOnLastExit;

        public List<IShimLeaseHolder> Holders { get; } = [];
    }
}
