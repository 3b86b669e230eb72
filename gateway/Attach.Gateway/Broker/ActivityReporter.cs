using System.Threading.Channels;

namespace Attach.Gateway.Broker;

/// <summary>
/// Sends busy/idle observations to the broker off the kernel channel's path: the relay only enqueues.
/// The queue is bounded; if the broker is so slow that it fills, the oldest observation is dropped and
/// logged (a later one for the same kernel supersedes it anyway).
/// </summary>
internal sealed class ActivityReporter : BackgroundService
{
    private readonly Channel<ObservedActivity> _queue;
    private readonly BrokerClient _broker;
    private readonly ILogger<ActivityReporter> _logger;

    public ActivityReporter(BrokerClient broker, ILogger<ActivityReporter> logger)
    {
        _broker = broker;
        _logger = logger;
        _queue = Channel.CreateBounded<ObservedActivity>(
            new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => Log.ActivityDropped(_logger, dropped.KernelId, dropped.Report.Activity));
    }

    public void Enqueue(ObservedActivity activity) => _queue.Writer.TryWrite(activity);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var item in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await _broker.ReportActivityAsync(item.KernelId, item.User, item.Report, stoppingToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or Polly.ExecutionRejectedException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                Log.ActivityReportFailed(_logger, item.KernelId, item.Report.Activity, ex.Message);
            }
        }
    }
}
