using System.Buffers;
using System.Net.Sockets;

namespace Attach.Agent.Shim;

/// <summary>
/// Reads shim frames from a connection. Between frames it waits as long as the caller's token allows (a process
/// holding a lease says nothing for hours); once a frame's first byte is in, the rest must follow within the frame
/// timeout, so a client that trickles bytes (slowloris) or stops halfway is cut off.
/// </summary>
internal sealed class ShimFrameReader(Socket socket, TimeProvider timeProvider)
{
    private readonly byte[] _header = new byte[ShimFrame.HeaderLength];

    /// <summary>The next message, or null when the peer closed the connection between frames.</summary>
    /// <exception cref="ShimProtocolException">The frame is malformed, oversized, truncated or late.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="waitToken"/> was cancelled.</exception>
    public async Task<ShimMessage?> ReadAsync(TimeSpan frameTimeout, CancellationToken waitToken)
    {
        if (await socket.ReceiveAsync(_header.AsMemory(0, 1), SocketFlags.None, waitToken) == 0)
        {
            return null;
        }

        using var timer = new CancellationTokenSource(frameTimeout, timeProvider);
        using var frameToken = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, waitToken);
        try
        {
            await ReceiveExactlyAsync(_header.AsMemory(1), frameToken.Token);
            var length = ShimFrame.ReadBodyLength(_header);
            if (length > ShimFrame.MaxBodyLength)
            {
                throw new ShimProtocolException(ShimErrorCodes.TooLarge,
                    $"The frame announces a {length}-byte body; at most {ShimFrame.MaxBodyLength} bytes are allowed.");
            }

            var type = _header[4];
            if (!ShimFrame.IsKnownType(type))
            {
                throw new ShimProtocolException(ShimErrorCodes.UnknownType, $"Message type 0x{type:x2} is not part of shim protocol version {ShimMessage.ProtocolVersion}.");
            }

            var body = ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                await ReceiveExactlyAsync(body.AsMemory(0, (int)length), frameToken.Token);
                return ShimFrame.Decode((ShimMessageType)type, body.AsSpan(0, (int)length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !waitToken.IsCancellationRequested)
        {
            throw new ShimProtocolException(ShimErrorCodes.Timeout,
                $"A frame started but did not arrive completely within {frameTimeout.TotalSeconds:0.###} s.");
        }
    }

    private async Task ReceiveExactlyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            var received = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (received == 0)
            {
                throw new ShimProtocolException(ShimErrorCodes.Truncated, "The connection ended in the middle of a frame.");
            }

            buffer = buffer[received..];
        }
    }
}
