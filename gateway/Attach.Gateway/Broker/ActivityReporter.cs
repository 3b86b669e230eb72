using System.Threading.Channels;
using Attach.Contracts.Kernels;

namespace Attach.Gateway.Broker;

/// <summary>
/// Sends what the relay observes to the broker off the kernel channel's path: busy/idle, and the cells sent to the
/// kernel without waiting for a decision (<see cref="ExecutionGate"/>). The relay only enqueues. Observations are
/// sent in batches (<see cref="KernelReportBatch"/>), one request per user every <see cref="BatchWindow"/> at most,
/// in the order they were seen: a request per observation cost more than the relaying itself (two or three per cell).
/// The queue is bounded; if the broker is so slow that it fills, the oldest observation is dropped and logged.
/// </summary>
internal sealed class ActivityReporter : BackgroundService
{
    /// <summary>How long a batch collects after its first observation; short next to any idle timeout.</summary>
    public static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(20);

    private readonly Channel<UserReport> _queue;
    private readonly BrokerClient _broker;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ActivityReporter> _logger;

    public ActivityReporter(BrokerClient broker, ILogger<ActivityReporter> logger, TimeProvider? timeProvider = null)
    {
        _broker = broker;
        _logger = logger;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _queue = Channel.CreateBounded<UserReport>(
            new BoundedChannelOptions(100_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => Log.ReportDropped(_logger, dropped.Report.KernelId, dropped.Report.Activity?.Activity.ToString() ?? $"cell {dropped.Report.Forwarded?.MsgId}"));
    }

    public void Enqueue(ObservedActivity activity) =>
        _queue.Writer.TryWrite(new UserReport(activity.User, new KernelReport(activity.KernelId, activity.Report, null)));

    public void EnqueueForwarded(ForwardedExecution execution) =>
        _queue.Writer.TryWrite(new UserReport(execution.User, new KernelReport(execution.KernelId, null, execution.Request)));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<UserReport>();
        while (await _queue.Reader.WaitToReadAsync(stoppingToken))
        {
            await Task.Delay(BatchWindow, _timeProvider, stoppingToken);
            while (batch.Count < KernelReportBatch.MaxReports && _queue.Reader.TryRead(out var report))
            {
                batch.Add(report);
            }

            foreach (var user in batch.GroupBy(r => r.User, StringComparer.Ordinal))
            {
                var reports = user.Select(r => r.Report).ToList();
                try
                {
                    await _broker.ReportAsync(user.Key, new KernelReportBatch(reports), stoppingToken);
                }
                catch (Exception ex) when (ex is HttpRequestException or Polly.ExecutionRejectedException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
                {
                    Log.ReportFailed(_logger, reports.Count, user.Key, ex.Message);
                }
            }

            batch.Clear();
        }
    }

    private readonly record struct UserReport(string User, KernelReport Report);
}
