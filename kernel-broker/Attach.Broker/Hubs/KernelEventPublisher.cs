using System.Threading.Channels;
using Attach.Broker.Kernels;
using Attach.Contracts.Hubs;
using Attach.Contracts.Kernels;
using Microsoft.AspNetCore.SignalR;

namespace Attach.Broker.Hubs;

/// <summary>
/// Queues state-machine events (the state machine publishes under its lock and must not wait on the
/// network) and sends them, in order, to the hub group of the kernel's owner.
/// </summary>
internal sealed class KernelEventPublisher : BackgroundService, IKernelEventPublisher
{
    private readonly Channel<KernelStateChanged> _queue;
    private readonly IHubContext<AttachHub, IAttachHubClient> _hub;
    private readonly ILogger<KernelEventPublisher> _logger;

    public KernelEventPublisher(IHubContext<AttachHub, IAttachHubClient> hub, ILogger<KernelEventPublisher> logger)
    {
        _hub = hub;
        _logger = logger;
        _queue = Channel.CreateBounded<KernelStateChanged>(
            new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => Log.EventDropped(_logger, dropped.KernelId, dropped.To));
    }

    public void Publish(KernelStateChanged change) => _queue.Writer.TryWrite(change);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var change in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await _hub.Clients.Group(AttachHub.GroupFor(change.KernelId, change.Status.Owner)).KernelStateChanged(change);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.EventSendFailed(_logger, ex, change.KernelId, change.To);
            }
        }
    }
}
