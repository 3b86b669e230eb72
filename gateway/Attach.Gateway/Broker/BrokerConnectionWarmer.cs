namespace Attach.Gateway.Broker;

/// <summary>
/// The first GPU cell should not pay for connecting to the broker and compiling the call path: at start the
/// gateway makes one call through the same client the cells use, retrying until the broker answers.
/// </summary>
internal sealed class BrokerConnectionWarmer(BrokerClient broker, TimeProvider timeProvider, ILogger<BrokerConnectionWarmer> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = timeProvider.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await broker.WarmUpAsync(stoppingToken);
                Log.BrokerReachable(logger);
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or Polly.ExecutionRejectedException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                if (timeProvider.GetElapsedTime(started) > GiveUpAfter)
                {
                    Log.BrokerNotYetReachable(logger, ex.Message);
                    return;
                }
            }

            await Task.Delay(Interval, timeProvider, stoppingToken);
        }
    }
}
