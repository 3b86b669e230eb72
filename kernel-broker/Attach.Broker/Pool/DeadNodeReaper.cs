using Attach.Broker.Kernels;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Pool;

/// <summary>
/// Reclaims the leases of agents that stopped sending heartbeats. Every quarter of <see cref="BrokerOptions.LeaseTtl"/>
/// it asks the <see cref="LeaseTable"/> for nodes silent past the TTL: their leases are taken back, the scheduler
/// forgets the nodes (nothing is placed there), and each kernel that held one goes to Failed with a reason that says
/// what happened and what to do. A node that sends a heartbeat again rejoins the pool with its ledger reconciled.
/// </summary>
internal sealed class DeadNodeReaper(
    LeaseTable leases,
    KernelRegistry kernels,
    TimeProvider timeProvider,
    IOptions<BrokerOptions> options,
    ILogger<DeadNodeReaper> logger) : BackgroundService
{
    /// <summary>How often the reaper looks: a quarter of the TTL, so a dead node is reclaimed at most 25% late.</summary>
    public TimeSpan Interval => options.Value.LeaseTtl / 4;

    /// <summary>Reclaims what is due now and tells the kernels; returns what was reclaimed.</summary>
    public DeadNodeReclaim Sweep()
    {
        var ttl = options.Value.LeaseTtl;
        var reclaim = leases.ReclaimDeadNodes(ttl);
        foreach (var node in reclaim.Nodes)
        {
            Log.NodeDeclaredDead(logger, node.NodeId, node.Silent.TotalSeconds, node.LastSeen, ttl.TotalSeconds, node.Leases.Count);
            foreach (var lease in node.Leases)
            {
                Log.LeaseReclaimed(logger, lease.LeaseId, lease.Epoch, lease.KernelId, lease.Owner, lease.NodeId, lease.Gpu.Index, lease.MemoryMiB);
                kernels.LoseLease(lease, LostReason(node, lease));
            }
        }

        return reclaim;
    }

    /// <summary>What the kernel's status says: what happened, and what the user can do.</summary>
    internal static string LostReason(DeadNode node, Lease lease) =>
        $"node {node.NodeId} stopped sending heartbeats ({node.Silent.TotalSeconds:0} s without one), so the broker took back GPU {lease.Gpu.Index} " +
        $"({lease.Gpu.DisplayName}) from this kernel; whatever the kernel kept on that GPU may be lost. Run the cell again to attach a GPU " +
        "from the rest of the pool (restart the kernel first if it ran on that node); if the node comes back still holding the slice, the kernel gets it back";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    Sweep();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.ReclaimFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The broker is stopping.
        }
    }
}
