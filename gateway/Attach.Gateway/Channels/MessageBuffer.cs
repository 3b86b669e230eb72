using System.Buffers;
using System.Net.WebSockets;

namespace Attach.Gateway.Channels;

/// <summary>
/// Reassembles one WebSocket message (which may arrive in many frames) into a pooled buffer that grows
/// up to a limit. One per direction of a connection; reused for every message.
/// </summary>
internal sealed class MessageBuffer(long maxMessageBytes) : IDisposable
{
    private const int InitialSize = 16 * 1024;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);

    /// <summary>The last message received.</summary>
    public ReadOnlyMemory<byte> Message { get; private set; }

    /// <summary>Receives the next whole message.</summary>
    public async Task<ReceiveOutcome> ReceiveAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                if (length >= maxMessageBytes)
                {
                    return ReceiveOutcome.TooBig;
                }

                Grow((int)Math.Min(maxMessageBytes + 1, (long)_buffer.Length * 2));
            }

            var result = await socket.ReceiveAsync(_buffer.AsMemory(length), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return ReceiveOutcome.Closed;
            }

            length += result.Count;
            if (length > maxMessageBytes)
            {
                return ReceiveOutcome.TooBig;
            }

            if (result.EndOfMessage)
            {
                Message = _buffer.AsMemory(0, length);
                return result.MessageType == WebSocketMessageType.Text ? ReceiveOutcome.Text : ReceiveOutcome.Binary;
            }
        }
    }

    /// <summary>
    /// Hands the buffer holding the last message to the caller, who returns it to
    /// <see cref="ArrayPool{T}.Shared"/>; the next receive starts in a fresh buffer, so nothing is copied.
    /// </summary>
    public (byte[] Buffer, int Length) DetachMessage()
    {
        var detached = (_buffer, Message.Length);
        _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
        Message = default;
        return detached;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private void Grow(int size)
    {
        var larger = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan().CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}

/// <summary>What <see cref="MessageBuffer.ReceiveAsync"/> got.</summary>
internal enum ReceiveOutcome
{
    Text,
    Binary,
    Closed,
    TooBig,
}
