using Attach.Contracts.Pool;

namespace Attach.Agent.Containers;

/// <summary>Cleanup of containers whose lease this node no longer holds.</summary>
internal sealed partial class ContainerRunner
{
    /// <summary>
    /// Stops and removes this node's containers whose lease is not in the ledger: after an agent restart, those
    /// are containers nobody will ever stop, holding host memory and, on a real GPU, device memory the pool
    /// believes free. A container that cannot be removed is logged and left; the others are still cleaned.
    /// </summary>
    /// <returns>The containers removed.</returns>
    public async Task<ContainerResult<IReadOnlyList<ContainerInfo>>> RemoveOrphansAsync(CancellationToken cancellationToken)
    {
        var listed = await ListAsync(cancellationToken);
        if (!listed.Succeeded)
        {
            return listed;
        }

        var bound = _ledger.Snapshot().Select(binding => binding.LeaseId).ToHashSet(StringComparer.Ordinal);
        var removed = new List<ContainerInfo>();
        var kept = 0;
        foreach (var container in listed.Value)
        {
            if (bound.Contains(container.LeaseId))
            {
                kept++;
                continue;
            }

            var result = await RemoveCoreAsync(container, stopFirst: true, cancellationToken);
            if (result.Succeeded)
            {
                _logger.OrphanContainerRemoved(container.Id, container.Name, container.State, container.LeaseId, container.Epoch, container.KernelId);
                removed.Add(container);
            }
            else
            {
                _logger.OrphanContainerRemovalFailed(container.Id, container.LeaseId, result.Failure.Detail);
            }
        }

        _logger.OrphanCleanupFinished(_nodeId, listed.Value.Count, removed.Count, kept, listed.Value.Count - removed.Count - kept);
        return ContainerResult<IReadOnlyList<ContainerInfo>>.Success(removed);
    }
}
