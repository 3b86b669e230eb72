using Attach.Broker.Persistence;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Attach.Broker.Leadership;

/// <summary>
/// Makes this broker the leader, or keeps it a follower until the leader goes. Alone on SQLite or memory it leads at
/// once. On PostgreSQL it tries the leader lock (<see cref="PostgresLeaderLock"/>) while the host starts, so the first
/// broker up leads before it serves a request, and then every <see cref="LeadershipOptions.Interval"/>: a follower tries
/// again, a leader checks its session. Taking the lead opens the <see cref="LeaderGate"/>: the state is loaded from the
/// store (<see cref="BrokerStateRestorer"/>, as after a restart), and only then does the broker answer decisions. A
/// leader whose session is found dead (by that check, or by any write failing on it) is deposed on the spot, for good.
/// </summary>
internal sealed class LeaderElector : BackgroundService
{
    private readonly BrokerLeadership _leadership;
    private readonly LeaderGate _gate;
    private readonly IServiceProvider _services;
    private readonly LeadershipOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<LeaderElector> _logger;
    private readonly PostgresLeaderLock? _lock;

    public LeaderElector(
        BrokerLeadership leadership,
        LeaderGate gate,
        IServiceProvider services,
        IOptions<StoreOptions> store,
        IOptions<LeadershipOptions> options,
        TimeProvider timeProvider,
        IHostApplicationLifetime lifetime,
        ILogger<LeaderElector> logger)
    {
        _leadership = leadership;
        _gate = gate;
        _services = services;
        _options = options.Value;
        _timeProvider = timeProvider;
        _lifetime = lifetime;
        _logger = logger;
        _lock = store.Value.Kind == StoreKind.Postgres ? services.GetRequiredService<PostgresLeaderLock>() : null;
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_lock is null)
        {
            await _gate.OpenAsync(cancellationToken);
            _leadership.Lead(new LeaderRecord(_leadership.BrokerId, _leadership.Url, 1, _timeProvider.GetUtcNow()), elected: false);
        }
        else
        {
            // Opening the store migrates it, so the leader table exists before the first try.
            _ = _services.GetRequiredService<ILeaseStore>();
            _lock.Lost = Depose;
            await TryTakeLeadAsync(cancellationToken);
        }

        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_lock is not null && _lock.Held)
        {
            // Stopping: the host stops the gated services after this one, and they may still write on the way out,
            // so hand the lock over when the container disposes it (the session closes), not here.
            Log.LeadershipHandedOver(_logger, _leadership.BrokerId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_lock is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.Interval, _timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            switch (_leadership.Role)
            {
                case LeadershipRole.Leader:
                    try
                    {
                        _lock.Ping(_options.Interval * 2);
                    }
                    catch (Exception ex) when (ex is NotLeaderException or NpgsqlException or InvalidOperationException or TimeoutException)
                    {
                        // A dead session was reported through Lost already; a slow one is not a lost lock.
                        Log.LeaderCheckFailed(_logger, _leadership.BrokerId, ex.Message);
                    }

                    break;
                case LeadershipRole.Deposed:
                    RefreshLeader();
                    break;
                default:
                    await TryTakeLeadAsync(stoppingToken);
                    break;
            }
        }
    }

    private async Task TryTakeLeadAsync(CancellationToken cancellationToken)
    {
        LeaderRecord? record;
        try
        {
            record = _lock!.TryAcquire(_leadership.Url, _timeProvider.GetUtcNow());
            if (record is null)
            {
                var leader = _lock.ReadLeader();
                if (_leadership.Role != LeadershipRole.Follower || _leadership.Leader?.Term != leader?.Term)
                {
                    Log.Following(_logger, _leadership.BrokerId, leader?.BrokerId ?? "(none recorded)", leader?.Term ?? 0, _options.Interval);
                }

                _leadership.Follow(leader);
                return;
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            Log.ElectionFailed(_logger, _leadership.BrokerId, _lock!.Description, ex.Message);
            _leadership.Follow(_leadership.Leader);
            return;
        }

        Log.TookLead(_logger, _leadership.BrokerId, record.Term, _lock.Description);
        try
        {
            await _gate.OpenAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            Log.TakeoverFailed(_logger, ex, _leadership.BrokerId);
            _lock.Release();
            _lifetime.StopApplication();
            throw;
        }

        _leadership.Lead(record, elected: true);
    }

    private void Depose(string reason)
    {
        if (!_leadership.Depose(reason))
        {
            return;
        }

        Log.Deposed(_logger, _leadership.BrokerId, reason, _options.StopWhenDeposed);
        if (_options.StopWhenDeposed)
        {
            _lifetime.StopApplication();
        }
    }

    private void RefreshLeader()
    {
        try
        {
            _leadership.SawLeader(_lock!.ReadLeader());
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            Log.ElectionFailed(_logger, _leadership.BrokerId, _lock!.Description, ex.Message);
        }
    }
}
