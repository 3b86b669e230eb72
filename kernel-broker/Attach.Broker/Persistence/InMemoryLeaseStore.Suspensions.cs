using Attach.Broker.Kernels;

namespace Attach.Broker.Persistence;

internal sealed partial class InMemoryLeaseStore
{
    private readonly Dictionary<string, SuspendedProcess> _suspensions = new(StringComparer.Ordinal);

    public IReadOnlyList<StoredSuspension> LoadSuspensions()
    {
        lock (_lock)
        {
            return [.. _suspensions.Select(s => new StoredSuspension(s.Key, s.Value))];
        }
    }

    public void SetSuspension(string kernelId, SuspendedProcess? suspension)
    {
        lock (_lock)
        {
            if (suspension is null)
            {
                _suspensions.Remove(kernelId);
            }
            else
            {
                _suspensions[kernelId] = suspension;
            }
        }
    }
}
