namespace Attach.Gateway.Channels;

/// <summary>
/// The client side of a kernel channel, under its WebSocket: writes pass straight through to the connection, except
/// while the relay defers them (<see cref="Defer"/>), when they gather in a buffer until <see cref="FlushDeferredAsync"/>.
/// A kernel answers a cell with several messages back to back (busy, execute_input, output, execute_reply, idle); the
/// relay defers while it finds the next one already received, so they reach the client in one write to the
/// connection instead of one each. Each of those writes is a flush of Kestrel's output, a hand-off to its socket loop
/// and a send system call, the largest share of the relay's CPU per message after the parse (make bench).
/// configurable-http-proxy gets the same effect by piping bytes: what the kernel sent together goes on together.
/// <para>
/// Deferred bytes are bounded (<see cref="DeferLimitBytes"/>): past it, or for one large message, they go at once, so a
/// kernel that streams faster than the client reads is still slowed by the client, as before. Every write the
/// WebSocket makes on its own (pong, keep-alive ping, close) follows the same order, so frames never interleave.
/// </para>
/// </summary>
internal sealed class CoalescingStream(Stream inner) : Stream
{
    /// <summary>Bytes gathered at most before they are written anyway.</summary>
    internal const int DeferLimitBytes = 32 * 1024;

    private readonly SendGate _gate = new();
    private byte[] _deferred = [];
    private int _deferredLength;
    private volatile bool _deferring;

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>How many bytes wait for <see cref="FlushDeferredAsync"/> (for tests).</summary>
    internal int DeferredBytes => _deferredLength;

    /// <summary>From now until <see cref="FlushDeferredAsync"/>, writes gather instead of going out.</summary>
    public void Defer() => _deferring = true;

    /// <summary>Ends deferring and writes what gathered, in order, ahead of anything written after.</summary>
    public async ValueTask FlushDeferredAsync(CancellationToken cancellationToken)
    {
        _deferring = false;

        // Always through the gate (it costs two interlocked operations): a write that saw deferring on just before may
        // still be gathering, and must not be left behind.
        await _gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await WriteDeferredAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Exit();
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_deferring && _deferredLength + buffer.Length <= DeferLimitBytes)
            {
                Gather(buffer.Span);
                return;
            }

            // Not deferring, or past the bound: what gathered goes first, then this.
            await WriteDeferredAsync(cancellationToken).ConfigureAwait(false);
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Exit();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>While deferring, a flush of the WebSocket's own (if it makes one) waits for <see cref="FlushDeferredAsync"/>.</summary>
    public override Task FlushAsync(CancellationToken cancellationToken) => _deferring ? Task.CompletedTask : inner.FlushAsync(cancellationToken);

    public override void Flush()
    {
        if (!_deferring)
        {
            inner.Flush();
        }
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _gate.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Appends to the deferred bytes; only called holding the gate. The buffer is the connection's own, not pooled: a
    /// write of the WebSocket's own could still be in flight when the socket is disposed, and must not touch an array
    /// another connection has been given.
    /// </summary>
    private void Gather(ReadOnlySpan<byte> bytes)
    {
        if (_deferred.Length < _deferredLength + bytes.Length)
        {
            var larger = new byte[Math.Min(DeferLimitBytes, Math.Max(4096, Math.Max(_deferred.Length * 2, _deferredLength + bytes.Length)))];
            _deferred.AsSpan(0, _deferredLength).CopyTo(larger);
            _deferred = larger;
        }

        bytes.CopyTo(_deferred.AsSpan(_deferredLength));
        _deferredLength += bytes.Length;
    }

    /// <summary>Writes the deferred bytes in one write; only called holding the gate.</summary>
    private async ValueTask WriteDeferredAsync(CancellationToken cancellationToken)
    {
        if (_deferredLength == 0)
        {
            return;
        }

        var length = _deferredLength;
        _deferredLength = 0;
        await inner.WriteAsync(_deferred.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
    }
}
