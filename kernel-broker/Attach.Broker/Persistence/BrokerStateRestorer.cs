using Attach.Broker.Kernels;
using Attach.Broker.Pool;

namespace Attach.Broker.Persistence;

/// <summary>
/// At startup, before the broker serves a request: loads the stored leases and kernels (resolving the lease table and
/// the registry does that) and gives each kernel whose lease was bound its slice back, Attached, so the idle policy
/// releases it as if the broker had never stopped, and gives each kernel the slice preference its owner stored. Leases
/// still binding or releasing wait for their agent's heartbeat. With several brokers on one PostgreSQL this runs when
/// the broker takes the lead (Leadership/), not before: a follower holds no state.
/// </summary>
internal sealed class BrokerStateRestorer(ILeaseStore store, LeaseTable leases, KernelRegistry kernels, ILogger<BrokerStateRestorer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var all = leases.Snapshot();
        var restored = 0;
        foreach (var lease in all.Where(l => l.Status == LeaseStatus.Bound))
        {
            if (kernels.Adopt(lease) is { } refusal)
            {
                // The agent's next heartbeat reports it as a binding to unbind; its capacity stays taken until then.
                Log.StoredLeaseNotRestored(logger, lease.LeaseId, lease.KernelId, refusal);
                leases.SetStatus(lease.LeaseId, LeaseStatus.Releasing);
            }
            else
            {
                restored++;
            }
        }

        // The slice each owner chose survives too (the registry recreated every stored kernel, Detached or Attached).
        foreach (var stored in store.Load().Kernels.Where(k => k.Preference is not null))
        {
            if (kernels.Find(stored.KernelId, stored.Owner) is { } kernel)
            {
                kernel.Preference = stored.Preference;
            }
        }

        Log.StateLoaded(logger, store.Description, all.Count, restored, all.Count - restored, leases.LastEpoch);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
