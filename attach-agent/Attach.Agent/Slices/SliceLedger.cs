using Attach.Agent.Gpu;
using Attach.Contracts.Pool;

namespace Attach.Agent.Slices;

/// <summary>
/// The slices bound on this node. One lock guards every binding, so the memory bound on a GPU never exceeds
/// its total and the compute shares never exceed 100 %. Binds are idempotent per lease and fenced by epoch:
/// a request carrying an older epoch than the one recorded comes from a superseded lease holder and is refused.
/// Every change is saved to the <see cref="ILedgerStore"/> before it takes effect, under the same lock, and the
/// saved state is loaded when the ledger is created: bindings and their epochs outlive an agent restart.
/// </summary>
internal sealed class SliceLedger
{
    /// <summary>Longest lease id accepted; it travels in URLs and environment variables.</summary>
    public const int MaxLeaseIdLength = 200;

    /// <summary>
    /// Unbound leases remembered for fencing, the most recent ones: a bind that arrives after its lease was unbound
    /// (a delayed retry) is refused as stale instead of binding the slice again.
    /// </summary>
    public const int MaxRetiredLeases = 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, BindingInfo> _bindings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _retired = new(StringComparer.Ordinal);
    private readonly Queue<string> _retiredOrder = new();
    private readonly IGpuInventory _inventory;
    private readonly TimeProvider _timeProvider;
    private readonly ILedgerStore _store;
    private readonly ILogger<SliceLedger> _logger;

    /// <summary>Loads the ledger from <paramref name="store"/>.</summary>
    /// <exception cref="LedgerCorruptException">The saved ledger cannot be read; the agent must not start.</exception>
    public SliceLedger(IGpuInventory inventory, TimeProvider timeProvider, ILedgerStore store, ILogger<SliceLedger> logger)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(logger);
        _inventory = inventory;
        _timeProvider = timeProvider;
        _store = store;
        _logger = logger;
        Restore();
    }

    /// <summary>A ledger kept in memory only, for tests and tools: it forgets its bindings when the process ends.</summary>
    public SliceLedger(IGpuInventory inventory, TimeProvider timeProvider, ILogger<SliceLedger> logger)
        : this(inventory, timeProvider, new InMemoryLedgerStore(), logger)
    {
    }

    private enum BindChange
    {
        Bound,
        Replayed,
        EpochAdvanced,
    }

    /// <summary>Binds a slice, or returns the lease's binding when it is already in place.</summary>
    public LedgerResult Bind(BindRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (result, change, previousEpoch) = BindCore(request);
        if (!result.Succeeded)
        {
            _logger.SliceBindRefused(request.LeaseId, request.KernelId, request.GpuIndex, request.MemoryMiB, result.Refusal.Kind, result.Refusal.Detail);
            return result;
        }

        var binding = result.Binding;
        switch (change)
        {
            case BindChange.Bound:
                _logger.SliceBound(binding.LeaseId, binding.Epoch, binding.KernelId, binding.Gpu.Index, binding.MemoryMiB, binding.ComputePercent);
                break;
            case BindChange.EpochAdvanced:
                _logger.SliceEpochAdvanced(binding.LeaseId, previousEpoch, binding.Epoch, binding.KernelId, binding.Gpu.Index, binding.MemoryMiB, binding.ComputePercent);
                break;
            default:
                _logger.SliceBindReplayed(binding.LeaseId, binding.Epoch, binding.KernelId, binding.Gpu.Index, binding.MemoryMiB);
                break;
        }

        return result;
    }

    /// <summary>Removes a lease's binding unless the epoch is stale.</summary>
    public LedgerResult Unbind(string leaseId, long epoch)
    {
        ArgumentNullException.ThrowIfNull(leaseId);
        LedgerResult result;
        lock (_lock)
        {
            if (!_bindings.TryGetValue(leaseId, out var existing))
            {
                result = LedgerResult.Refused(LedgerRefusalKind.NotFound,
                    $"Lease '{leaseId}' is not bound on this node, so there is nothing to unbind. List the node's bindings with GET /api/v1/bindings.");
            }
            else if (epoch < existing.Epoch)
            {
                result = LedgerResult.Refused(LedgerRefusalKind.StaleEpoch,
                    $"Lease '{leaseId}' is bound at epoch {existing.Epoch}; an unbind at epoch {epoch} is stale (the lease was re-issued since). " +
                    "Unbind with the lease's current epoch.");
            }
            else
            {
                var retired = new RetiredLease(leaseId, Math.Max(epoch, existing.Epoch));
                Save_NeedsLock(_bindings.Values.Where(binding => !string.Equals(binding.LeaseId, leaseId, StringComparison.Ordinal)), RetiredWith_NeedsLock(retired), leaseId);
                _bindings.Remove(leaseId);
                Retire_NeedsLock(retired);
                result = LedgerResult.Success(existing);
            }
        }

        if (result.Succeeded)
        {
            var removed = result.Binding;
            _logger.SliceUnbound(removed.LeaseId, epoch, removed.KernelId, removed.Gpu.Index, removed.MemoryMiB);
        }
        else
        {
            _logger.SliceUnbindRefused(leaseId, epoch, result.Refusal.Kind, result.Refusal.Detail);
        }

        return result;
    }

    /// <summary>Every binding, ordered by GPU, then by when it was bound.</summary>
    public IReadOnlyList<BindingInfo> Snapshot()
    {
        lock (_lock)
        {
            return [.. _bindings.Values
                .OrderBy(binding => binding.Gpu.Index)
                .ThenBy(binding => binding.BoundAt)
                .ThenBy(binding => binding.LeaseId, StringComparer.Ordinal)];
        }
    }

    private (LedgerResult Result, BindChange Change, long PreviousEpoch) BindCore(BindRequest request)
    {
        var gpu = _inventory.Gpus.FirstOrDefault(candidate => candidate.Index == request.GpuIndex);
        var errors = Validate(request, gpu);
        if (errors.Count > 0)
        {
            var kind = gpu is null && errors.Count == 1 && errors.ContainsKey("gpuIndex") ? LedgerRefusalKind.UnknownGpu : LedgerRefusalKind.InvalidRequest;
            return (LedgerResult.Invalid(kind, errors), default, default);
        }

        // Validate guarantees a GPU here.
        var target = gpu!;
        lock (_lock)
        {
            if (!_bindings.TryGetValue(request.LeaseId, out var existing))
            {
                if (_retired.TryGetValue(request.LeaseId, out var retiredEpoch) && request.Epoch <= retiredEpoch)
                {
                    return (LedgerResult.Refused(LedgerRefusalKind.StaleEpoch,
                        $"Lease '{request.LeaseId}' was unbound at epoch {retiredEpoch}; a bind at epoch {request.Epoch} is stale (it was sent before the unbind). " +
                        "Ask the broker for a new lease."), default, default);
                }

                var refusal = CheckCapacity_NeedsLock(target, request, replacing: null);
                if (refusal is not null)
                {
                    return (refusal, default, default);
                }

                var binding = new BindingInfo(
                    request.LeaseId,
                    request.Epoch,
                    request.KernelId,
                    target,
                    request.MemoryMiB,
                    request.ComputePercent,
                    SliceEnvironment.For(target, request.LeaseId, request.MemoryMiB, request.ComputePercent, request.MigUuid),
                    _timeProvider.GetUtcNow(),
                    request.Owner ?? "",
                    request.MigUuid);
                Save_NeedsLock(_bindings.Values.Append(binding), RetiredWith_NeedsLock(null), binding.LeaseId);
                _bindings.Add(binding.LeaseId, binding);
                return (LedgerResult.Success(binding), BindChange.Bound, default);
            }

            return Rebind_NeedsLock(existing, target, request);
        }
    }

    private (LedgerResult Result, BindChange Change, long PreviousEpoch) Rebind_NeedsLock(BindingInfo existing, GpuInfo gpu, BindRequest request)
    {
        if (request.Epoch < existing.Epoch)
        {
            return (LedgerResult.Refused(LedgerRefusalKind.StaleEpoch,
                $"Lease '{existing.LeaseId}' is bound at epoch {existing.Epoch}; a bind at epoch {request.Epoch} is stale (the lease was re-issued since). " +
                "Ask the broker for the lease's current epoch."), default, default);
        }

        if (existing.Gpu.Index != request.GpuIndex || !string.Equals(existing.KernelId, request.KernelId, StringComparison.Ordinal))
        {
            return (LedgerResult.Refused(LedgerRefusalKind.LeaseConflict,
                $"Lease '{existing.LeaseId}' is bound to kernel '{existing.KernelId}' on GPU {existing.Gpu.Index}; it cannot be rebound to kernel " +
                $"'{request.KernelId}' on GPU {request.GpuIndex}. Unbind it first (DELETE /api/v1/bindings/{existing.LeaseId}?epoch={existing.Epoch})."), default, default);
        }

        var sameSlice = existing.MemoryMiB == request.MemoryMiB && existing.ComputePercent == request.ComputePercent;
        if (request.Epoch == existing.Epoch)
        {
            return sameSlice
                ? (LedgerResult.Success(existing), BindChange.Replayed, existing.Epoch)
                : (LedgerResult.Refused(LedgerRefusalKind.LeaseConflict,
                    $"Lease '{existing.LeaseId}' is already bound at epoch {existing.Epoch} with {existing.MemoryMiB} MiB and {existing.ComputePercent}% compute. " +
                    "To change the slice, bind it again with a higher epoch."), default, default);
        }

        // A higher epoch: the broker re-issued the lease on the same GPU; take the new token (and the new size, if it fits).
        var refusal = CheckCapacity_NeedsLock(gpu, request, replacing: existing.LeaseId);
        if (refusal is not null)
        {
            return (refusal, default, default);
        }

        var updated = existing with
        {
            Epoch = request.Epoch,
            Gpu = gpu,
            MemoryMiB = request.MemoryMiB,
            ComputePercent = request.ComputePercent,
            Environment = SliceEnvironment.For(gpu, request.LeaseId, request.MemoryMiB, request.ComputePercent, request.MigUuid),
            Owner = string.IsNullOrEmpty(request.Owner) ? existing.Owner : request.Owner,
            MigUuid = request.MigUuid,
        };
        Save_NeedsLock(
            _bindings.Values.Select(binding => string.Equals(binding.LeaseId, existing.LeaseId, StringComparison.Ordinal) ? updated : binding),
            RetiredWith_NeedsLock(null),
            existing.LeaseId);
        _bindings[existing.LeaseId] = updated;
        return (LedgerResult.Success(updated), BindChange.EpochAdvanced, existing.Epoch);
    }

    private void Restore()
    {
        var document = _store.Load();
        if (document is null)
        {
            _logger.LedgerStartedEmpty(_store.Location);
            return;
        }

        lock (_lock)
        {
            foreach (var binding in document.Bindings)
            {
                _bindings.Add(binding.LeaseId, binding);
                var gpu = _inventory.Gpus.FirstOrDefault(candidate => candidate.Index == binding.Gpu.Index);
                if (gpu is null || !string.Equals(gpu.Uuid, binding.Gpu.Uuid, StringComparison.Ordinal))
                {
                    // Kept all the same: the process still runs with the recorded CUDA_VISIBLE_DEVICES, and the broker decides.
                    _logger.LedgerBindingOnChangedGpu(binding.LeaseId, binding.Gpu.Index, binding.Gpu.Uuid, gpu?.Uuid);
                }

                _logger.LedgerBindingRestored(binding.LeaseId, binding.Epoch, binding.KernelId, binding.Owner, binding.Gpu.Index, binding.MemoryMiB, binding.ComputePercent);
            }

            foreach (var retired in document.Retired)
            {
                Retire_NeedsLock(retired);
            }
        }

        _logger.LedgerRestored(_store.Location, document.Bindings.Count, document.Retired.Count);
    }

    /// <summary>Saves the ledger as it will be once the change is applied; throws, and nothing changes, when it cannot.</summary>
    private void Save_NeedsLock(IEnumerable<BindingInfo> bindings, IReadOnlyList<RetiredLease> retired, string leaseId)
    {
        try
        {
            _store.Save(new LedgerDocument(LedgerDocument.CurrentVersion, [.. bindings.OrderBy(binding => binding.LeaseId, StringComparer.Ordinal)], retired));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LedgerSaveFailed(ex, _store.Location, leaseId);
            throw;
        }
    }

    /// <summary>The retired leases, oldest first, with <paramref name="retired"/> added last (and the oldest dropped past the limit).</summary>
    private List<RetiredLease> RetiredWith_NeedsLock(RetiredLease? retired)
    {
        var list = _retiredOrder
            .Where(leaseId => retired is null || !string.Equals(leaseId, retired.LeaseId, StringComparison.Ordinal))
            .Select(leaseId => new RetiredLease(leaseId, _retired[leaseId]))
            .ToList();
        if (retired is not null)
        {
            list.Add(retired);
        }

        return list.Count > MaxRetiredLeases ? list[^MaxRetiredLeases..] : list;
    }

    private void Retire_NeedsLock(RetiredLease retired)
    {
        if (_retired.Remove(retired.LeaseId))
        {
            // Rare (a lease bound again at a higher epoch, then unbound): move it to the back.
            var others = _retiredOrder.Where(leaseId => !string.Equals(leaseId, retired.LeaseId, StringComparison.Ordinal)).ToList();
            _retiredOrder.Clear();
            others.ForEach(_retiredOrder.Enqueue);
        }

        _retired[retired.LeaseId] = retired.Epoch;
        _retiredOrder.Enqueue(retired.LeaseId);
        while (_retiredOrder.Count > MaxRetiredLeases)
        {
            _retired.Remove(_retiredOrder.Dequeue());
        }
    }

    private LedgerResult? CheckCapacity_NeedsLock(GpuInfo gpu, BindRequest request, string? replacing)
    {
        long boundMiB = 0;
        var boundCompute = 0;
        foreach (var binding in _bindings.Values)
        {
            if (binding.Gpu.Index == gpu.Index && !string.Equals(binding.LeaseId, replacing, StringComparison.Ordinal))
            {
                if (request.MigUuid is not null && string.Equals(binding.MigUuid, request.MigUuid, StringComparison.Ordinal))
                {
                    return LedgerResult.Refused(LedgerRefusalKind.LeaseConflict,
                        $"MIG instance {request.MigUuid} of GPU {gpu.Index} ({gpu.DisplayName}) is already bound to lease '{binding.LeaseId}'; a MIG instance " +
                        "is given whole to one lease. Place the slice on another instance, or wait until that binding is released.");
                }

                boundMiB += binding.MemoryMiB;

                // A MIG instance has its own multiprocessors: it takes none of the compute of the GPU's other instances.
                boundCompute += binding.MigUuid is null ? binding.ComputePercent : 0;
            }
        }

        var freeMiB = gpu.MemoryTotalMiB - boundMiB;
        if (request.MemoryMiB > freeMiB)
        {
            return LedgerResult.Refused(LedgerRefusalKind.InsufficientMemory,
                $"GPU {gpu.Index} ({gpu.DisplayName}) has {freeMiB} MiB free of {gpu.MemoryTotalMiB} MiB; lease '{request.LeaseId}' asks for {request.MemoryMiB} MiB. " +
                $"Ask for at most {freeMiB} MiB on this GPU, place the slice on another GPU, or wait until a binding here is released.");
        }

        var freeCompute = 100 - boundCompute;
        if (request.MigUuid is null && request.ComputePercent > freeCompute)
        {
            return LedgerResult.Refused(LedgerRefusalKind.InsufficientCompute,
                $"GPU {gpu.Index} ({gpu.DisplayName}) has {freeCompute}% of its compute unbound; lease '{request.LeaseId}' asks for {request.ComputePercent}%. " +
                $"Ask for at most {freeCompute}% on this GPU, place the slice on another GPU, or wait until a binding here is released.");
        }

        return null;
    }

    private Dictionary<string, string[]> Validate(BindRequest request, GpuInfo? gpu)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(request.LeaseId))
        {
            errors["leaseId"] = ["leaseId must not be empty."];
        }
        else if (request.LeaseId.Length > MaxLeaseIdLength)
        {
            errors["leaseId"] = [$"leaseId must be at most {MaxLeaseIdLength} characters."];
        }

        if (string.IsNullOrWhiteSpace(request.KernelId))
        {
            errors["kernelId"] = ["kernelId must not be empty."];
        }

        if (request.Epoch < 0)
        {
            errors["epoch"] = [$"epoch must be 0 or more (it is the lease's fencing token); it is {request.Epoch}."];
        }

        if (request.ComputePercent is < 1 or > 100)
        {
            errors["computePercent"] = [$"computePercent must be between 1 and 100 (100 = the whole GPU's SMs); it is {request.ComputePercent}."];
        }

        if (gpu is null)
        {
            var indexes = string.Join(", ", _inventory.Gpus.Select(candidate => candidate.Index));
            errors["gpuIndex"] = [$"GPU {request.GpuIndex} does not exist on this node; its GPUs are {indexes}. See GET /api/v1/gpus."];
        }

        if (request.MemoryMiB <= 0)
        {
            errors["memoryMiB"] = [$"memoryMiB must be more than 0; it is {request.MemoryMiB}."];
        }
        else if (gpu is not null && request.MemoryMiB > gpu.MemoryTotalMiB)
        {
            errors["memoryMiB"] = [$"memoryMiB {request.MemoryMiB} is more than GPU {gpu.Index} ({gpu.DisplayName}) has in total ({gpu.MemoryTotalMiB} MiB)."];
        }

        if (request.MigUuid is { } migUuid
            && (!migUuid.StartsWith("MIG-", StringComparison.Ordinal) || migUuid.Length > MaxLeaseIdLength || migUuid.Any(char.IsWhiteSpace)))
        {
            errors["migUuid"] = [$"migUuid must be a MIG device UUID as nvidia-smi -L prints it (MIG-…, at most {MaxLeaseIdLength} characters), or absent for a slice of a whole GPU."];
        }

        return errors;
    }
}
