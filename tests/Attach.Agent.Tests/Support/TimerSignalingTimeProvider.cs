using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Agent.Tests.Support;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that says when code starts waiting on it, so a test advances the clock only
/// once the wait exists instead of racing it.
/// </summary>
internal sealed class TimerSignalingTimeProvider : FakeTimeProvider
{
    private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _timers.Writer.TryWrite(dueTime);
        return timer;
    }

    /// <summary>Waits until a timer is created and returns its due time.</summary>
    public async Task<TimeSpan> NextTimerAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _timers.Reader.ReadAsync(timeout.Token);
    }
}
