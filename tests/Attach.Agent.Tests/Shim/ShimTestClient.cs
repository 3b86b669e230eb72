using System.Buffers.Binary;
using System.Net.Sockets;
using Attach.Agent.Shim;

namespace Attach.Agent.Tests.Shim;

/// <summary>A shim client on a real unix socket, for tests: well-formed messages, raw bytes, and what the agent answers.</summary>
internal sealed class ShimTestClient : IAsyncDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;

    private ShimTestClient(Socket socket) => _socket = socket;

    public static async Task<ShimTestClient> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var timeout = new CancellationTokenSource(ReplyTimeout);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token);
            return new ShimTestClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects and says hello; asserts the welcome.</summary>
    public static async Task<ShimTestClient> HelloAsync(string path, string session)
    {
        var client = await ConnectAsync(path);
        await client.SendAsync(ShimMessageType.Hello, ("version", "1"), ("session", session), ("client", "tests"));
        var welcome = await client.ReadAsync();
        Assert.Equal(ShimMessageType.Welcome, welcome?.Type);
        return client;
    }

    public Task SendAsync(ShimMessageType type, params (string Key, string Value)[] fields) =>
        SendRawAsync(ShimFrame.Encode(new ShimMessage(type, [.. fields.Select(field => KeyValuePair.Create(field.Key, field.Value))])));

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        await _socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
    }

    /// <summary>No more bytes from this client; the agent sees the end of the stream.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>The next message, or null when the agent closed the connection (a reset counts as closed).</summary>
    public async Task<ShimMessage?> ReadAsync()
    {
        var header = new byte[ShimFrame.HeaderLength];
        if (!await ReadExactlyAsync(header))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        Assert.InRange(length, 0u, (uint)ShimFrame.MaxBodyLength);
        Assert.True(header[4] >= 0x80, $"the agent sent a client message type 0x{header[4]:x2}");
        Assert.True(ShimFrame.IsKnownType(header[4]), $"the agent sent unknown type 0x{header[4]:x2}");
        var body = new byte[length];
        Assert.True(await ReadExactlyAsync(body), "the agent's frame was truncated");
        return ShimFrame.Decode((ShimMessageType)header[4], body);
    }

    /// <summary>The next message, which must be of <paramref name="type"/>.</summary>
    public async Task<ShimMessage> ExpectAsync(ShimMessageType type)
    {
        var message = await ReadAsync();
        Assert.NotNull(message);
        Assert.True(message.Type == type, $"expected {type}, got {message.Type} ({string.Join(", ", message.Fields.Select(f => $"{f.Key}={f.Value}"))})");
        return message;
    }

    /// <summary>Everything the agent still sends until it closes the connection.</summary>
    public async Task<IReadOnlyList<ShimMessage>> ReadUntilClosedAsync()
    {
        var messages = new List<ShimMessage>();
        while (await ReadAsync() is { } message)
        {
            messages.Add(message);
        }

        return messages;
    }

    public async ValueTask DisposeAsync()
    {
        await Task.CompletedTask;
        _socket.Dispose();
    }

    private async Task<bool> ReadExactlyAsync(Memory<byte> buffer)
    {
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        var first = true;
        while (!buffer.IsEmpty)
        {
            int received;
            try
            {
                received = await _socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            }
            catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionReset)
            {
                received = 0;
            }

            if (received == 0)
            {
                Assert.True(first, "the agent closed the connection in the middle of a frame");
                return false;
            }

            first = false;
            buffer = buffer[received..];
        }

        return true;
    }
}
