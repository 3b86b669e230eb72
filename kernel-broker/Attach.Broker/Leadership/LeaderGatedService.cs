namespace Attach.Broker.Leadership;

/// <summary>
/// Stands in for one of the broker's hosted services: creates and starts it only when the <see cref="LeaderGate"/>
/// opens (at once for a broker alone on its store), so nothing it depends on is built on a follower.
/// </summary>
internal sealed class LeaderGatedService(LeaderGate gate, Func<IHostedService> create, bool ownsInstance) : IHostedService, IAsyncDisposable
{
    private readonly Lock _lock = new();
    private IHostedService? _inner;
    private bool _stopped;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!gate.TryHold(this))
        {
            await StartInnerAsync(cancellationToken);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        IHostedService? inner;
        lock (_lock)
        {
            _stopped = true;
            inner = _inner;
        }

        if (inner is not null)
        {
            await inner.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The container disposes services it created; one made here from a type is this wrapper's to dispose.
        if (ownsInstance)
        {
            switch (_inner)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
    }

    internal async Task StartInnerAsync(CancellationToken cancellationToken)
    {
        IHostedService inner;
        lock (_lock)
        {
            if (_stopped || _inner is not null)
            {
                return;
            }

            inner = _inner = create();
        }

        await inner.StartAsync(cancellationToken);
    }
}
