using System.Threading.Channels;

namespace Attach.Gateway.Broker;

/// <summary>
/// Sends busy/idle observations, and the cells the gateway forwarded without waiting (<see cref="ExecutionGate"/>),
/// to the broker off the kernel channel's path: the relay only enqueues. Each queue is bounded; if the broker is so
/// slow that one fills, its oldest entry is dropped and logged (a later busy/idle for the same kernel supersedes it
/// anyway; a dropped forwarded cell is only missing from the broker's log).
/// </summary>
internal sealed class ActivityReporter : BackgroundService
{
    private readonly Channel<ObservedActivity> _queue;
    private readonly Channel<ForwardedExecution> _forwarded;
    private readonly BrokerClient _broker;
    private readonly ILogger<ActivityReporter> _logger;

    public ActivityReporter(BrokerClient broker, ILogger<ActivityReporter> logger)
    {
        _broker = broker;
        _logger = logger;
        _queue = Channel.CreateBounded<ObservedActivity>(
            new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => Log.ActivityDropped(_logger, dropped.KernelId, dropped.Report.Activity));
        _forwarded = Channel.CreateBounded<ForwardedExecution>(
            new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => Log.ForwardedReportDropped(_logger, dropped.KernelId, dropped.Request.MsgId));
    }

    public void Enqueue(ObservedActivity activity) => _queue.Writer.TryWrite(activity);

    public void EnqueueForwarded(ForwardedExecution execution) => _forwarded.Writer.TryWrite(execution);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ReportActivityAsync(stoppingToken), ReportForwardedAsync(stoppingToken));

    private async Task ReportForwardedAsync(CancellationToken stoppingToken)
    {
        await foreach (var item in _forwarded.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await _broker.ReportForwardedAsync(item.KernelId, item.User, item.Request, stoppingToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or Polly.ExecutionRejectedException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                Log.ForwardedReportFailed(_logger, item.KernelId, item.Request.MsgId, ex.Message);
            }
        }
    }

    private async Task ReportActivityAsync(CancellationToken stoppingToken)
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
