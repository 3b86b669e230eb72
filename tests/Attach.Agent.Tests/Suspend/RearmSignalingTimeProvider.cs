using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Agent.Tests.Suspend;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that says whenever a timer is armed, at creation or later through
/// <see cref="ITimer.Change"/>: Polly's timeout creates its cancellation timer unarmed and arms it with
/// <c>CancelAfter</c>, which <c>TimerSignalingTimeProvider</c> does not see.
/// </summary>
internal sealed class RearmSignalingTimeProvider : FakeTimeProvider
{
    private readonly Channel<TimeSpan> _armed = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new SignalingTimer(base.CreateTimer(callback, state, dueTime, period), _armed.Writer);
        timer.Signal(dueTime);
        return timer;
    }

    /// <summary>Waits until a timer is armed with exactly <paramref name="dueTime"/>, skipping the others.</summary>
    public async Task WaitForTimerAsync(TimeSpan dueTime)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await _armed.Reader.ReadAsync(timeout.Token) != dueTime)
        {
        }
    }

    private sealed class SignalingTimer(ITimer inner, ChannelWriter<TimeSpan> armed) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = inner.Change(dueTime, period);
            Signal(dueTime);
            return changed;
        }

        public void Signal(TimeSpan dueTime)
        {
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                armed.TryWrite(dueTime);
            }
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
