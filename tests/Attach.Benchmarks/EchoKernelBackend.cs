using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Attach.Benchmarks;

/// <summary>
/// make bench's stand-in for a Jupyter Server whose kernels answer instantly: <c>GET /api/status</c>,
/// <c>GET /api/kernels/{id}</c> (any id exists), and <c>/api/kernels/{id}/channels</c>, which answers every
/// <c>execute_request</c> with iopub status busy, shell execute_reply (ok) and iopub status idle, each parented
/// to the request's header, in the legacy JSON protocol or in <c>v1.kernel.websocket.jupyter.org</c> (chosen
/// when the client offers it, as jupyter_server 2 does). Nothing else is answered. It measures the proxies,
/// not a kernel: per message it copies the request header and writes three small messages. It answers the same under
/// <see cref="HubRoutePrefix"/>, as a JupyterHub single-user server answers under its base_url.
/// </summary>
internal static class EchoKernelBackend
{
    public const string V1 = "v1.kernel.websocket.jupyter.org";

    /// <summary>The base_url of the route JupyterHub would add for a user named "bench".</summary>
    public const string HubRoutePrefix = "/user/bench/";

    private static readonly byte[] EmptyObject = "{}"u8.ToArray();

    /// <summary>Runs the backend on 127.0.0.1:<paramref name="port"/> until the process is stopped.</summary>
    public static async Task RunAsync(int port)
    {
        ThreadPool.SetMinThreads(Math.Max(64, Environment.ProcessorCount * 16), Math.Max(64, Environment.ProcessorCount * 16));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxConcurrentConnections = null);
        var app = builder.Build();
        app.UsePathBase(HubRoutePrefix.TrimEnd('/'));
        app.UseWebSockets();
        var started = TimeProvider.System.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        app.MapGet("/api/status", () => Results.Text($$"""{"started":"{{started}}","kernels":0,"connections":0}""", "application/json"));
        app.MapGet("/api/kernels/{kernelId}", (string kernelId) => Results.Text(
            $$"""{"id":"{{JsonEncodedText.Encode(kernelId)}}","name":"python3","last_activity":"{{started}}","execution_state":"idle","connections":0}""",
            "application/json"));
        app.Map("/api/kernels/{kernelId}/channels", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            var v1 = context.WebSockets.WebSocketRequestedProtocols.Contains(V1);
            using var socket = await context.WebSockets.AcceptWebSocketAsync(v1 ? V1 : null);
            await ServeAsync(socket, v1, context.RequestAborted);
        });
        await app.RunAsync();
    }

    private static async Task ServeAsync(WebSocket socket, bool v1, CancellationToken cancellationToken)
    {
        var session = Guid.NewGuid().ToString("N");
        var buffer = new ArrayBufferWriter<byte>(4096);
        var count = 0;
        try
        {
            while (true)
            {
                buffer.ResetWrittenCount();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer.GetMemory(4096), cancellationToken);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
                        return;
                    }

                    buffer.Advance(result.Count);
                }
                while (!result.EndOfMessage);

                if (!TryReadRequest(buffer.WrittenSpan, v1, out var parentHeader, out var isExecute))
                {
                    continue;
                }

                count += isExecute ? 1 : 0;
                foreach (var reply in Replies(parentHeader, session, isExecute ? count : null, v1))
                {
                    await socket.SendAsync(reply, v1 ? WebSocketMessageType.Binary : WebSocketMessageType.Text, true, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client went away.
        }
    }

    /// <summary>The request's header bytes, when the message is an execute_request or a kernel_info_request.</summary>
    internal static bool TryReadRequest(ReadOnlySpan<byte> message, bool v1, out byte[] header, out bool isExecute)
    {
        header = [];
        isExecute = false;
        if (v1)
        {
            if (message.Length < 8)
            {
                return false;
            }

            var offsets = (int)BinaryPrimitives.ReadUInt64LittleEndian(message);
            if (offsets < 3 || message.Length < 8 * (offsets + 1))
            {
                return false;
            }

            var start = BinaryPrimitives.ReadUInt64LittleEndian(message[16..]);
            var end = BinaryPrimitives.ReadUInt64LittleEndian(message[24..]);
            if (start > end || end > (ulong)message.Length)
            {
                return false;
            }

            header = message[(int)start..(int)end].ToArray();
        }
        else
        {
            var reader = new Utf8JsonReader(message);
            if (!JsonDocument.TryParseValue(ref reader, out var document))
            {
                return false;
            }

            using (document)
            {
                if (!document.RootElement.TryGetProperty("header", out var element))
                {
                    return false;
                }

                header = Encoding.UTF8.GetBytes(element.GetRawText());
            }
        }

        using var parsed = JsonDocument.Parse(header);
        if (!parsed.RootElement.TryGetProperty("msg_type", out var type))
        {
            return false;
        }

        isExecute = type.ValueEquals("execute_request"u8);
        return isExecute || type.ValueEquals("kernel_info_request"u8);
    }

    /// <summary>
    /// busy (iopub), execute_reply (shell; kernel_info_reply when <paramref name="executionCount"/> is null), idle (iopub),
    /// each with <paramref name="parentHeader"/> as its parent.
    /// </summary>
    internal static IEnumerable<byte[]> Replies(byte[] parentHeader, string session, int? executionCount, bool v1)
    {
        yield return Message("iopub", "status", parentHeader, session, """{"execution_state":"busy"}"""u8, v1);
        var reply = executionCount is { } n
            ? Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $$"""{"status":"ok","execution_count":{{n}},"user_expressions":{},"payload":[]}"""))
            : """{"status":"ok","protocol_version":"5.3","implementation":"echo","implementation_version":"1","language_info":{"name":"python"},"banner":"make bench echo backend"}"""u8.ToArray();
        yield return Message("shell", executionCount is null ? "kernel_info_reply" : "execute_reply", parentHeader, session, reply, v1);
        yield return Message("iopub", "status", parentHeader, session, """{"execution_state":"idle"}"""u8, v1);
    }

    private static byte[] Message(string channel, string msgType, byte[] parentHeader, string session, ReadOnlySpan<byte> content, bool v1)
    {
        var header = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $$"""{"msg_id":"{{Guid.NewGuid():N}}","msg_type":"{{msgType}}","session":"{{session}}","username":"echo","date":"{{TimeProvider.System.GetUtcNow():O}}","version":"5.3"}"""));
        if (v1)
        {
            byte[][] parts = [Encoding.UTF8.GetBytes(channel), header, parentHeader, EmptyObject, content.ToArray()];
            return EncodeV1(parts);
        }

        var output = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("header"u8);
            writer.WriteRawValue(header, skipInputValidation: true);
            writer.WritePropertyName("parent_header"u8);
            writer.WriteRawValue(parentHeader, skipInputValidation: true);
            writer.WritePropertyName("metadata"u8);
            writer.WriteRawValue(EmptyObject, skipInputValidation: true);
            writer.WritePropertyName("content"u8);
            writer.WriteRawValue(content, skipInputValidation: true);
            writer.WriteString("channel"u8, channel);
            writer.WriteStartArray("buffers"u8);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>v1 framing (jupyter_server's serialize_msg_to_ws_v1): offset count, offsets as uint64 LE, then the parts.</summary>
    private static byte[] EncodeV1(byte[][] parts)
    {
        var count = parts.Length + 1;
        var headerSize = 8 * (count + 1);
        var data = new byte[headerSize + parts.Sum(p => p.Length)];
        BinaryPrimitives.WriteUInt64LittleEndian(data, (ulong)count);
        var offset = headerSize;
        for (var i = 0; i < parts.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8 * (i + 1)), (ulong)offset);
            parts[i].CopyTo(data, offset);
            offset += parts[i].Length;
        }

        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8 * count), (ulong)offset);
        return data;
    }
}
