using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Attach.Testing.Jupyter;

/// <summary>
/// A Jupyter kernel-channel client, as JupyterLab or Notebook 6 would be: legacy JSON frames without a
/// subprotocol, or <c>v1.kernel.websocket.jupyter.org</c> binary frames. Its encoder and decoder are the
/// test's own (written from jupyter_server's), so they check the gateway rather than mirror it.
/// </summary>
public sealed class KernelChannelClient : IAsyncDisposable
{
    public const string V1 = "v1.kernel.websocket.jupyter.org";

    private readonly ClientWebSocket _socket;
    private readonly Channel<ReceivedMessage> _received = Channel.CreateUnbounded<ReceivedMessage>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiveLoop;
    private readonly string _session = Guid.NewGuid().ToString("N");

    private KernelChannelClient(ClientWebSocket socket)
    {
        _socket = socket;
        _receiveLoop = ReceiveLoopAsync();
    }

    /// <summary>The subprotocol the server chose (null for legacy).</summary>
    public string? SubProtocol => _socket.SubProtocol;

    /// <summary>How the server closed the connection, once it did.</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseStatusDescription => _socket.CloseStatusDescription;

    /// <summary>Every message received so far and to come, in order.</summary>
    public ChannelReader<ReceivedMessage> Messages => _received.Reader;

    public static async Task<KernelChannelClient> ConnectAsync(Uri server, string kernelId, string? token, string? subprotocol, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        if (subprotocol is not null)
        {
            socket.Options.AddSubProtocol(subprotocol);
        }

        if (token is not null)
        {
            socket.Options.SetRequestHeader("Authorization", $"token {token}");
        }

        socket.Options.CollectHttpResponseDetails = true;
        var builder = new UriBuilder(new Uri(server, $"api/kernels/{kernelId}/channels"))
        {
            Scheme = server.Scheme == "https" ? "wss" : "ws",
            Query = $"session_id={Guid.NewGuid():N}",
        };
        try
        {
            await socket.ConnectAsync(builder.Uri, cancellationToken);
        }
        catch
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            throw new WebSocketConnectFailedException(status);
        }

        return new KernelChannelClient(socket);
    }

    /// <summary>Sends an <c>execute_request</c>; returns its msg_id.</summary>
    public async Task<string> SendExecuteRequestAsync(string code, CancellationToken cancellationToken)
    {
        var msgId = Guid.NewGuid().ToString("N");
        var header = new JsonObject
        {
            ["msg_id"] = msgId,
            ["username"] = "test",
            ["session"] = _session,
            ["msg_type"] = "execute_request",
            ["version"] = "5.3",
            ["date"] = "2026-11-28T00:00:00.000000Z",
        };
        var content = new JsonObject
        {
            ["code"] = code,
            ["silent"] = false,
            ["store_history"] = true,
            ["user_expressions"] = new JsonObject(),
            ["allow_stdin"] = false,
            ["stop_on_error"] = true,
        };
        await SendAsync("shell", header, content, cancellationToken);
        return msgId;
    }

    /// <summary>Sends raw bytes as one message (for malformed-frame tests).</summary>
    public Task SendRawAsync(byte[] data, WebSocketMessageType type, CancellationToken cancellationToken) =>
        _socket.SendAsync(data, type, endOfMessage: true, cancellationToken);

    /// <summary>
    /// Collects every message parented to <paramref name="msgId"/> until its execute_reply and its idle
    /// status have both arrived, as a notebook decides a cell is done.
    /// </summary>
    public async Task<IReadOnlyList<ReceivedMessage>> CollectUntilDoneAsync(string msgId, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var collected = new List<ReceivedMessage>();
        bool replied = false, idle = false;
        try
        {
            while (!(replied && idle))
            {
                var message = await _received.Reader.ReadAsync(cts.Token);
                if (message.ParentMsgId != msgId)
                {
                    continue;
                }

                collected.Add(message);
                replied |= message.MsgType == "execute_reply";
                idle |= message is { MsgType: "status" } && message.Content.GetProperty("execution_state").GetString() == "idle";
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"execute_request {msgId} not done within {timeout}; got: {string.Join(", ", collected)}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"the connection closed ({CloseStatus} {CloseStatusDescription}) before {msgId} was done; got: {string.Join(", ", collected)}");
        }

        return collected;
    }

    /// <summary>Waits for the server to close the connection; returns its close status.</summary>
    public async Task<WebSocketCloseStatus?> WaitForCloseAsync(TimeSpan timeout)
    {
        await _receiveLoop.WaitAsync(timeout);
        return _socket.CloseStatus;
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // Already gone.
            }
        }

        await _stop.CancelAsync();
        try
        {
            await _receiveLoop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or TimeoutException)
        {
            // Closing anyway.
        }

        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task SendAsync(string channel, JsonObject header, JsonObject content, CancellationToken cancellationToken)
    {
        if (_socket.SubProtocol == V1)
        {
            byte[][] parts =
            [
                Encoding.UTF8.GetBytes(channel),
                JsonSerializer.SerializeToUtf8Bytes(header),
                "{}"u8.ToArray(),
                "{}"u8.ToArray(),
                JsonSerializer.SerializeToUtf8Bytes(content),
            ];
            await _socket.SendAsync(EncodeV1(parts), WebSocketMessageType.Binary, true, cancellationToken);
        }
        else
        {
            var message = new JsonObject
            {
                ["header"] = header,
                ["parent_header"] = new JsonObject(),
                ["metadata"] = new JsonObject(),
                ["content"] = content,
                ["channel"] = channel,
                ["buffers"] = new JsonArray(),
            };
            await _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, cancellationToken);
        }
    }

    /// <summary>v1: offset count, offsets (uint64 LE, the last one the end), then channel and parts.</summary>
    public static byte[] EncodeV1(IReadOnlyList<byte[]> channelAndParts)
    {
        var count = channelAndParts.Count + 1;
        var headerSize = 8 * (count + 1);
        var total = headerSize + channelAndParts.Sum(p => p.Length);
        var data = new byte[total];
        BinaryPrimitives.WriteUInt64LittleEndian(data, (ulong)count);
        var offset = headerSize;
        for (var i = 0; i < channelAndParts.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8 * (i + 1)), (ulong)offset);
            channelAndParts[i].CopyTo(data, offset);
            offset += channelAndParts[i].Length;
        }

        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8 * count), (ulong)offset);
        return data;
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[1024 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                var bytes = message.ToArray();
                message.SetLength(0);
                _received.Writer.TryWrite(result.MessageType == WebSocketMessageType.Text
                    ? DecodeLegacyJson(bytes, 0)
                    : _socket.SubProtocol == V1 ? DecodeV1(bytes) : DecodeLegacyBinary(bytes));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // Closed by us or by the server.
        }
        finally
        {
            _received.Writer.TryComplete();
        }
    }

    private static ReceivedMessage DecodeLegacyJson(byte[] json, int buffers)
    {
        var root = JsonDocument.Parse(json).RootElement;
        return new ReceivedMessage(root.GetProperty("channel").GetString()!, root.GetProperty("header"), root.GetProperty("parent_header"), root.GetProperty("content"), buffers);
    }

    private static ReceivedMessage DecodeLegacyBinary(byte[] data)
    {
        var count = (int)BinaryPrimitives.ReadUInt32BigEndian(data);
        var first = (int)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4));
        var end = count > 1 ? (int)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(8)) : data.Length;
        return DecodeLegacyJson(data[first..end], count - 1);
    }

    private static ReceivedMessage DecodeV1(byte[] data)
    {
        var count = (int)BinaryPrimitives.ReadUInt64LittleEndian(data);
        var offsets = Enumerable.Range(0, count).Select(i => (int)BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(8 * (i + 1)))).ToArray();
        byte[] Part(int i) => data[offsets[i]..(i + 1 < offsets.Length ? offsets[i + 1] : data.Length)];
        JsonElement Json(int i) => JsonDocument.Parse(Part(i)).RootElement;
        return new ReceivedMessage(Encoding.UTF8.GetString(Part(0)), Json(1), Json(2), Json(4), Math.Max(0, count - 6));
    }
}

/// <summary>The WebSocket handshake was refused; <see cref="StatusCode"/> says how.</summary>
public sealed class WebSocketConnectFailedException(System.Net.HttpStatusCode statusCode)
    : Exception($"WebSocket handshake refused with HTTP {(int)statusCode}")
{
    public System.Net.HttpStatusCode StatusCode { get; } = statusCode;
}
