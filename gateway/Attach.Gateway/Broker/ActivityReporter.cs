using System.Collections.Concurrent;
using System.Threading.Channels;
using Attach.Contracts.Kernels;

namespace Attach.Gateway.Broker;

/// <summary>
/// Sends what the relay observes to the broker off the kernel channel's path: busy/idle, and the cells sent to the
/// kernel without waiting for a decision (<see cref="ExecutionGate"/>). The relay only records; observations are
/// coalesced per kernel and sent in batches (<see cref="KernelReportBatch"/>), one request per user every
/// <see cref="BatchWindow"/> at most.
/// </summary>
/// <remarks>
/// Within a window the broker is told, per kernel, what it would have concluded from every observation: the cell
/// forwarded last (the broker checks it against its rules and records the kernel's owner), and the kernel's
/// activity as at most two reports, the other state then the last one. Busy then idle restarts the idle clock
/// exactly as busy, idle, busy, idle would; a kernel seen only idle stays one idle report. Measured (make bench,
/// one client): a queue entry per observation, a request every 20 ms and the broker re-checking every cell cost as
/// much as relaying the cell itself; the relay's writes to one shared queue also contended on its lock.
/// Memory is bounded by the number of kernels with something to report, so nothing is ever dropped.
/// </remarks>
internal sealed class ActivityReporter : BackgroundService
{
    /// <summary>How long a batch collects after its first observation; short next to any idle timeout (minutes).</summary>
    public static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<(string User, string KernelId), KernelObservations> _pending = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly BrokerClient _broker;

    /// <summary>1 once an observation has woken the sender for the current window.</summary>
    private int _awake;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ActivityReporter> _logger;

    public ActivityReporter(BrokerClient broker, ILogger<ActivityReporter> logger, TimeProvider? timeProvider = null)
    {
        _broker = broker;
        _logger = logger;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    public void Enqueue(ObservedActivity activity) =>
        Record(activity.User, activity.KernelId, activity.Report, static (o, report) => o.TryAddActivity(report));

    public void EnqueueForwarded(ForwardedExecution execution) =>
        Record(execution.User, execution.KernelId, execution.Request, static (o, request) => o.TryAddForwarded(request));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (await _wake.Reader.WaitToReadAsync(stoppingToken))
        {
            _wake.Reader.TryRead(out _);
            await Task.Delay(BatchWindow, _timeProvider, stoppingToken);

            // Cleared before the entries are taken: an observation recorded from here on wakes the next window.
            Volatile.Write(ref _awake, 0);
            await SendPendingAsync(stoppingToken);
        }
    }

    /// <summary>Sends everything recorded so far, one request per user (more when a user has over <see cref="KernelReportBatch.MaxReports"/> reports).</summary>
    private async Task SendPendingAsync(CancellationToken stoppingToken)
    {
        var byUser = new Dictionary<string, List<KernelReport>>(StringComparer.Ordinal);
        foreach (var (key, observations) in _pending)
        {
            // Taken out first: an observation recorded from here on starts a fresh entry for the next window.
            if (!_pending.TryRemove(new KeyValuePair<(string, string), KernelObservations>(key, observations)))
            {
                continue;
            }

            if (!byUser.TryGetValue(key.User, out var reports))
            {
                byUser[key.User] = reports = [];
            }

            observations.Close(key.KernelId, reports);
        }

        foreach (var (user, reports) in byUser)
        {
            foreach (var chunk in reports.Chunk(KernelReportBatch.MaxReports))
            {
                try
                {
                    await _broker.ReportAsync(user, new KernelReportBatch(chunk), stoppingToken);
                }
                catch (Exception ex) when (ex is HttpRequestException or Polly.ExecutionRejectedException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
                {
                    Log.ReportFailed(_logger, chunk.Length, user, ex.Message);
                }
            }
        }
    }

    private void Record<T>(string user, string kernelId, T observation, Func<KernelObservations, T, bool> tryAdd)
    {
        var key = (user, kernelId);
        while (true)
        {
            var observations = _pending.GetOrAdd(key, static _ => new KernelObservations());
            if (tryAdd(observations, observation))
            {
                // Only the first observation of a window wakes the sender; the channel's lock is not taken per message.
                if (Interlocked.Exchange(ref _awake, 1) == 0)
                {
                    _wake.Writer.TryWrite(true);
                }

                return;
            }

            // The sender closed this entry between the lookup and the write: it is already on its way, start the next.
        }
    }

    /// <summary>What one kernel did within a window, coalesced; closed once when the window's batch is built.</summary>
    private sealed class KernelObservations
    {
        private readonly Lock _lock = new();
        private bool _closed;
        private ExecutionRequest? _forwarded;
        private KernelActivityReport? _last;
        private KernelActivityReport? _other;

        /// <summary>Records busy or idle; false once the window's batch has taken this entry.</summary>
        public bool TryAddActivity(KernelActivityReport report)
        {
            lock (_lock)
            {
                if (_closed)
                {
                    return false;
                }

                if (_last is { } last && last.Activity != report.Activity)
                {
                    _other = last;
                }

                _last = report;
                return true;
            }
        }

        /// <summary>Records a cell forwarded without asking; false once the window's batch has taken this entry.</summary>
        public bool TryAddForwarded(ExecutionRequest request)
        {
            lock (_lock)
            {
                if (_closed)
                {
                    return false;
                }

                _forwarded = request;
                return true;
            }
        }

        /// <summary>Adds this window's reports (forwarded cell first, then activity in order) and refuses further observations.</summary>
        public void Close(string kernelId, List<KernelReport> reports)
        {
            lock (_lock)
            {
                _closed = true;
                if (_forwarded is { } forwarded)
                {
                    reports.Add(new KernelReport(kernelId, null, forwarded));
                }

                if (_other is { } other)
                {
                    reports.Add(new KernelReport(kernelId, other, null));
                }

                if (_last is { } last)
                {
                    reports.Add(new KernelReport(kernelId, last, null));
                }
            }
        }
    }
}
