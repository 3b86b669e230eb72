using Attach.Contracts.Pool;

namespace Attach.Agent.Suspend;

/// <summary>
/// The processes the agent knows per lease, and which leases have a suspend or resume in progress. Until the
/// shim reports the process behind a lease, the broker names it in the suspend request. A record outlives the
/// lease's binding: while a process is suspended its slice goes back to the pool, and the resume still needs to
/// know which GPU the process came from.
/// </summary>
internal sealed class LeaseProcesses
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LeaseProcess> _byLease = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inProgress = new(StringComparer.Ordinal);

    /// <summary>The process recorded for <paramref name="leaseId"/>.</summary>
    public LeaseProcess? Find(string leaseId)
    {
        lock (_lock)
        {
            return _byLease.GetValueOrDefault(leaseId);
        }
    }

    /// <summary>The record of <paramref name="pid"/> under any lease (a process resumed under a new lease).</summary>
    public LeaseProcess? FindByPid(int pid)
    {
        lock (_lock)
        {
            return _byLease.Values.FirstOrDefault(process => process.Pid == pid);
        }
    }

    /// <summary>Records the process running under a lease (the shim calls this once it knows).</summary>
    public void Attach(string leaseId, int pid, GpuInfo gpu, long sliceMiB)
    {
        lock (_lock)
        {
            _byLease[leaseId] = new LeaseProcess(leaseId, pid, gpu, sliceMiB, CudaProcessState.Running, HostBytes: null);
        }
    }

    /// <summary>Marks an operation on <paramref name="leaseId"/> as started; false when one is already running.</summary>
    public bool TryBegin(string leaseId)
    {
        lock (_lock)
        {
            return _inProgress.Add(leaseId);
        }
    }

    /// <summary>
    /// Ends the operation <see cref="TryBegin"/> started, recording what it left (null: nothing changed). A
    /// record moved to a new lease is removed from its old one.
    /// </summary>
    public void End(string leaseId, LeaseProcess? result)
    {
        lock (_lock)
        {
            _inProgress.Remove(leaseId);
            if (result is null)
            {
                return;
            }

            foreach (var stale in _byLease.Values.Where(process => process.Pid == result.Pid && process.LeaseId != result.LeaseId).ToArray())
            {
                _byLease.Remove(stale.LeaseId);
            }

            _byLease[result.LeaseId] = result;
        }
    }

    /// <summary>Drops the record of a lease whose process has ended.</summary>
    public void Forget(string leaseId)
    {
        lock (_lock)
        {
            _byLease.Remove(leaseId);
        }
    }
}
