namespace Attach.Gateway.Channels;

/// <summary>
/// Lets one sender at a time onto a WebSocket. Uncontended (the kernel's output, message after message) it is one
/// interlocked increment and decrement, with no lock: a <see cref="SemaphoreSlim"/> takes its internal lock on every
/// wait and release, and on two shared cores that lock was a measurable share of the relay's CPU (dotnet-trace,
/// make bench). Contended (the gateway's own messages into a held cell while output flows), the next sender waits
/// and is handed the gate in turn.
/// </summary>
internal sealed class SendGate : IDisposable
{
    private readonly SemaphoreSlim _handoff = new(0);

    /// <summary>The holder plus everyone waiting.</summary>
    private int _count;

    /// <summary>
    /// Waits for the gate. The wait itself is not cancelled (a holder always leaves, its send bounded by its own
    /// token), so no hand-off is ever lost; a token already cancelled once the gate is held leaves at once and throws.
    /// </summary>
    public async ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _count) != 1)
        {
            await _handoff.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            Exit();
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Leaves the gate, handing it to the next waiter if there is one.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _count) != 0)
        {
            _handoff.Release();
        }
    }

    public void Dispose() => _handoff.Dispose();
}
