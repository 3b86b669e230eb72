namespace Attach.Gateway.Broker;

/// <summary>
/// Keeps the gateway's copy of the broker's detection rules: fetched at start (retried until the broker answers) and
/// again every <see cref="Refresh"/>, so a rule the operator changes reaches the gateway within minutes. Until the
/// first fetch, and whenever the rules cannot be used, every cell is asked about as before.
/// </summary>
internal sealed class ExecutionRulesSource(BrokerClient broker, TimeProvider timeProvider, ILogger<ExecutionRulesSource> logger) : BackgroundService
{
    /// <summary>How often the rules are fetched again once the gateway has them.</summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(2);

    private volatile ExecutionRules? _current;

    /// <summary>The rules now in use; null: ask the broker about every cell.</summary>
    public ExecutionRules? Current => _current;

    /// <summary>Uses this rule set (the fetch loop does; tests set one directly).</summary>
    public void Use(ExecutionRules? rules) => _current = rules;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = Refresh;
            try
            {
                var set = await broker.GetRulesAsync(stoppingToken);
                var rules = ExecutionRules.TryCreate(set);
                if (rules is null)
                {
                    Log.ExecutionRulesUnusable(logger);
                }
                else if (_current is null)
                {
                    Log.ExecutionRulesLoaded(logger, rules.Count);
                }

                _current = rules;
            }
            catch (Exception ex) when (ex is HttpRequestException or Polly.ExecutionRejectedException or System.Text.Json.JsonException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                // Keep the rules already fetched: they were the broker's, and the broker still judges every other cell.
                wait = _current is null ? Retry : Refresh;
                Log.ExecutionRulesFetchFailed(logger, ex.Message);
            }

            await Task.Delay(wait, timeProvider, stoppingToken);
        }
    }
}
