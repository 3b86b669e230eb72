using Attach.Gateway.Channels;

namespace Attach.Gateway.Tests.Channels;

/// <summary>One sender at a time on a socket, without a lock on the uncontended path.</summary>
public sealed class SendGateTests
{
    [Fact]
    public async Task ManySendersAtOnce_NeverOverlap_AndAllGetThrough()
    {
        using var gate = new SendGate();
        var inside = 0;
        var overlaps = 0;
        var done = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 2_000; i++)
            {
                await gate.EnterAsync(CancellationToken.None);
                try
                {
                    if (Interlocked.Increment(ref inside) != 1)
                    {
                        Interlocked.Increment(ref overlaps);
                    }

                    if (i % 100 == 0)
                    {
                        await Task.Yield();
                    }

                    Interlocked.Decrement(ref inside);
                    Interlocked.Increment(ref done);
                }
                finally
                {
                    gate.Exit();
                }
            }
        })));

        Assert.Equal(0, overlaps);
        Assert.Equal(16_000, done);
    }

    [Fact]
    public async Task ASenderWaiting_GetsTheGateWhenTheHolderLeaves()
    {
        using var gate = new SendGate();
        await gate.EnterAsync(CancellationToken.None);
        var second = gate.EnterAsync(CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(second.IsCompleted);

        gate.Exit();
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        gate.Exit();

        // Free again: the next sender passes at once.
        Assert.True(gate.EnterAsync(CancellationToken.None).AsTask().IsCompletedSuccessfully);
        gate.Exit();
    }

    [Fact]
    public async Task ASenderCancelledWhileWaiting_LeavesWhenItsTurnComes_AndTheGateStaysUsable()
    {
        using var gate = new SendGate();
        using var cancel = new CancellationTokenSource();
        await gate.EnterAsync(CancellationToken.None);
        var cancelled = gate.EnterAsync(cancel.Token).AsTask();
        var third = gate.EnterAsync(CancellationToken.None).AsTask();
        await cancel.CancelAsync();

        gate.Exit();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(TimeSpan.FromSeconds(10)));
        await third.WaitAsync(TimeSpan.FromSeconds(10));
        gate.Exit();

        Assert.True(gate.EnterAsync(CancellationToken.None).AsTask().IsCompletedSuccessfully);
        gate.Exit();
    }
}
