using System.Collections.Concurrent;
using Attach.Broker.Persistence;
using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Kernels;

/// <summary>
/// The kernels the broker knows, each with its state machine. A kernel belongs to the user who first
/// used it; lookups by anyone else find nothing, as if the kernel did not exist. Ownership is written to the
/// <see cref="ILeaseStore"/> before a new kernel is visible, and read back at startup (each kernel Detached until
/// its stored leases are adopted), so a restart hands no kernel to another user.
/// </summary>
internal sealed class KernelRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, KernelStateMachine> _kernels = new(StringComparer.Ordinal);
    private readonly Lock _createLock = new();
    private readonly IGpuBinder _binder;
    private readonly IKernelEventPublisher _events;
    private readonly TimeProvider _timeProvider;
    private readonly IOptions<BrokerOptions> _options;
    private readonly ILeaseStore _store;
    private readonly ILogger _logger;
    private readonly IdlePolicy _idlePolicy;
    private readonly LeaseTable? _leases;
    private readonly PreemptionOptions _preemption;
    private readonly int _busyUtilizationPercent;

    public KernelRegistry(
        IGpuBinder binder,
        IKernelEventPublisher events,
        TimeProvider timeProvider,
        IOptions<BrokerOptions> options,
        ILoggerFactory loggerFactory,
        ILeaseStore? store = null,
        IOptions<SchedulingOptions>? scheduling = null,
        LeaseTable? leases = null)
    {
        _leases = leases;
        _preemption = scheduling?.Value.Preemption ?? new PreemptionOptions();
        _busyUtilizationPercent = scheduling?.Value.BusyUtilizationPercent ?? new SchedulingOptions().BusyUtilizationPercent;
        _binder = binder;
        _events = events;
        _timeProvider = timeProvider;
        _options = options;
        _store = store ?? new InMemoryLeaseStore();
        _logger = loggerFactory.CreateLogger<KernelStateMachine>();
        _idlePolicy = IdlePolicy.From(options.Value, scheduling?.Value);
        foreach (var kernel in _store.Load().Kernels)
        {
            _kernels[kernel.KernelId] = Create(kernel.KernelId, kernel.Owner);
        }

        // Kernels suspended to host memory before a restart stay Suspended: their next GPU cell resumes them.
        foreach (var suspended in _store.LoadSuspensions())
        {
            if (_kernels.TryGetValue(suspended.KernelId, out var kernel))
            {
                kernel.TryRestoreSuspended(suspended.Process);
            }
        }
    }

    /// <summary>The kernel's state machine, created for <paramref name="user"/> on first use; null when another user owns it.</summary>
    public KernelStateMachine? GetOrAdd(string kernelId, string user)
    {
        var kernel = GetOrCreate(kernelId, user);
        return CanSee(kernel, user) ? kernel : null;
    }

    /// <summary>
    /// For a service acting on a session it found out about (the shim's <c>cuInit</c>): the kernel, created
    /// for <paramref name="ownerIfNew"/> when the broker has not seen it yet.
    /// </summary>
    public KernelStateMachine GetOrAddForService(string kernelId, string ownerIfNew) => GetOrCreate(kernelId, ownerIfNew);

    /// <summary>
    /// Hands a live binding the lease table adopted back to its kernel, created Attached when the broker does not
    /// know it (see <see cref="KernelStateMachine.TryRestoreAttached"/>). Null when it was adopted, otherwise why
    /// not (the kernel has another slice, or another owner): the binding is then a leftover to unbind.
    /// </summary>
    public string? Adopt(Lease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var kernel = GetOrAddForService(lease.KernelId, lease.Owner);
        if (!string.Equals(kernel.Owner, lease.Owner, StringComparison.Ordinal))
        {
            return $"the kernel belongs to {kernel.Owner}, the binding to {lease.Owner}";
        }

        var attachment = new AttachmentInfo(
            lease.LeaseId,
            lease.NodeId,
            lease.Gpu.Index,
            lease.Gpu.Uuid,
            lease.Gpu.DisplayName,
            lease.Gpu.Simulated,
            lease.MemoryMiB,
            lease.Gpu.MemoryTotalMiB,
            WaitSeconds: 0);
        var reason = $"restored: node {lease.NodeId} still holds GPU {lease.Gpu.Index} ({lease.Gpu.DisplayName}), {MemorySize.Format(lease.MemoryMiB)} slice, " +
            $"which the broker had lost track of (it restarted, or the node was silent for longer than the lease TTL); it goes back to the pool after {_options.Value.IdleTimeout.TotalSeconds:0.#} s without GPU work";
        return kernel.TryRestoreAttached(attachment, reason) ? null : $"the kernel is {kernel.Status.State} with another slice";
    }

    /// <summary>
    /// Tells the kernel holding <paramref name="lease"/> that the broker took it back (its node was declared dead): an
    /// Attached kernel goes to Failed with <paramref name="reason"/>. False when no kernel held that lease any more.
    /// </summary>
    public bool LoseLease(Lease lease, string reason)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return _kernels.TryGetValue(lease.KernelId, out var kernel) && kernel.LoseAttachment(lease.LeaseId, reason);
    }

    /// <summary>
    /// Applies a heartbeat's GPU readings to the idle policy: every kernel holding a slice (in the agent's ledger) on a
    /// GPU whose utilisation is at or above <see cref="SchedulingOptions.BusyUtilizationPercent"/> has its idle clock
    /// restarted. A GPU shared by several slices keeps all its holders: per-GPU utilisation cannot tell which one
    /// works. Readings below the threshold, without utilisation (MIG mode) or from the simulated backend (its
    /// utilisation is the bound compute shares, not work) change nothing. Returns the kernels kept.
    /// </summary>
    public IReadOnlyList<string> KeepWorkingGpusHeld(NodeHeartbeat heartbeat, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        var kept = new List<string>();
        foreach (var reading in heartbeat.Readings ?? [])
        {
            if (reading is null || reading.Simulated || reading.UtilizationPercent is not { } utilization || utilization < _busyUtilizationPercent)
            {
                continue;
            }

            foreach (var binding in heartbeat.Bindings.Where(b => b?.Gpu is { } gpu && gpu.Index == reading.Index))
            {
                if (_kernels.TryGetValue(binding.KernelId, out var kernel) && kernel.ReportGpuWork(binding.LeaseId, _busyUtilizationPercent))
                {
                    kept.Add(binding.KernelId);
                    Log.GpuWorkKeepsSlice(logger, binding.KernelId, binding.LeaseId, heartbeat.NodeId, reading.Index, utilization, _busyUtilizationPercent);
                }
            }
        }

        return kept;
    }

    /// <summary>The kernel if it exists and <paramref name="user"/> may see it.</summary>
    public KernelStateMachine? Find(string kernelId, string user) =>
        _kernels.TryGetValue(kernelId, out var kernel) && CanSee(kernel, user) ? kernel : null;

    /// <summary>Every kernel <paramref name="user"/> may see.</summary>
    public IReadOnlyList<KernelStateMachine> List(string user) =>
        [.. _kernels.Values.Where(k => CanSee(k, user)).OrderBy(k => k.KernelId, StringComparer.Ordinal)];

    /// <summary>Releases the kernel's slice, if any, and forgets the kernel (it was shut down).</summary>
    public async Task<bool> RemoveAsync(string kernelId, string user, CancellationToken cancellationToken)
    {
        if (Find(kernelId, user) is not { } kernel)
        {
            return false;
        }

        await kernel.ReleaseAsync("the kernel was shut down", cancellationToken);
        bool removed;
        lock (_createLock)
        {
            removed = _kernels.TryRemove(new KeyValuePair<string, KernelStateMachine>(kernelId, kernel));
            if (removed)
            {
                _store.RemoveKernel(kernelId);
                _store.SetSuspension(kernelId, null);
            }
        }

        if (removed)
        {
            kernel.Dispose();
        }

        return true;
    }

    public void Dispose()
    {
        foreach (var kernel in _kernels.Values)
        {
            kernel.Dispose();
        }
    }

    private KernelStateMachine GetOrCreate(string kernelId, string owner)
    {
        if (_kernels.TryGetValue(kernelId, out var kernel))
        {
            return kernel;
        }

        lock (_createLock)
        {
            if (_kernels.TryGetValue(kernelId, out kernel))
            {
                return kernel;
            }

            // Durable before visible: a kernel someone could have used is never forgotten by a restart.
            _store.AddKernel(kernelId, owner);
            kernel = Create(kernelId, owner);
            _kernels[kernelId] = kernel;
            return kernel;
        }
    }

    private KernelStateMachine Create(string kernelId, string owner) =>
        new(kernelId, owner, _binder, _events, _timeProvider, _options.Value.IdleTimeout, _logger, _idlePolicy, _store.SetSuspension)
        {
            InteractiveQueued = _leases is not null && _preemption.Mode != PreemptionMode.Off ? PreemptFor : null,
        };

    /// <summary>
    /// An interactive request of <paramref name="waiter"/> waits: the batch slices the scheduler picks
    /// (<see cref="PoolScheduler.PreemptionVictims"/>) are suspended through their kernels, which queue again as batch
    /// work; their freed capacity places the interactive request (interactive before batch in the queue).
    /// </summary>
    private void PreemptFor(KernelStateMachine waiter)
    {
        var victims = _leases!.Scheduler.PreemptionVictims(waiter.KernelId, _preemption);
        foreach (var victim in victims)
        {
            if (_kernels.TryGetValue(victim.KernelId, out var kernel)
                && kernel.Preempt(victim.AllocationId, $"preempted: an interactive request of {waiter.Owner} needs GPU {victim.GpuIndex} on {victim.NodeId}"))
            {
                Log.BatchPreempted(_logger, victim.KernelId, victim.AllocationId, waiter.KernelId, victim.NodeId, victim.GpuIndex);
            }
        }
    }

    /// <summary>Services (the internal key without a user) see everything; users see their own kernels.</summary>
    internal static bool CanSee(KernelStateMachine kernel, string user) =>
        user == ServiceDefaults.Security.AttachClaims.ServiceUser || string.Equals(kernel.Owner, user, StringComparison.Ordinal);
}
