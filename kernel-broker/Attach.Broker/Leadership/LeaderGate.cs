namespace Attach.Broker.Leadership;

/// <summary>
/// Holds back the broker's hosted services until it leads. A follower must not build its state (the lease table and
/// the kernel registry read the store, and the lease table writes to it while it loads), nor run the sampler, the
/// idle policy or any other background decision-maker: they start, in the order they were registered, when the
/// <see cref="LeaderElector"/> takes the lead, and so load the store as the leader left it.
/// </summary>
internal sealed class LeaderGate
{
    private readonly Lock _lock = new();
    private readonly List<LeaderGatedService> _waiting = [];
    private bool _open;

    /// <summary>True once the gate was opened: services start as soon as the host starts them.</summary>
    public bool IsOpen
    {
        get
        {
            lock (_lock)
            {
                return _open;
            }
        }
    }

    /// <summary>Queues <paramref name="service"/> until the gate opens; false when it is open already (start it now).</summary>
    public bool TryHold(LeaderGatedService service)
    {
        lock (_lock)
        {
            if (_open)
            {
                return false;
            }

            _waiting.Add(service);
            return true;
        }
    }

    /// <summary>Opens the gate and starts, one after the other, every service it held back.</summary>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        List<LeaderGatedService> waiting;
        lock (_lock)
        {
            _open = true;
            waiting = [.. _waiting];
            _waiting.Clear();
        }

        foreach (var service in waiting)
        {
            await service.StartInnerAsync(cancellationToken);
        }
    }
}
