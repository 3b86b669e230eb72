using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text.Json;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Tests.Channels;

/// <summary>A kernel-channel frame decoded into its JSON parts, in either wire protocol, for assertions.</summary>
internal sealed record DecodedKernelFrame(string Channel, JsonElement Header, JsonElement Parent, JsonElement Metadata, JsonElement Content)
{
    public string MsgType => Header.GetProperty("msg_type").GetString()!;

    public string? ParentMsgId => Parent.TryGetProperty("msg_id", out var id) ? id.GetString() : null;

    public static DecodedKernelFrame Decode(byte[] data, bool isText, KernelWireProtocol protocol)
    {
        Assert.True(KernelMessageParser.TryParse(data, isText, protocol, out var summary, out var error), error);
        if (protocol == KernelWireProtocol.Legacy)
        {
            var root = JsonDocument.Parse(data).RootElement;
            return new(summary.Channel, root.GetProperty("header"), root.GetProperty("parent_header"), root.GetProperty("metadata"), root.GetProperty("content"));
        }

        int Offset(int index) => (int)BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(8 * (index + 1)));
        var parts = Enumerable.Range(1, 4).Select(i => JsonDocument.Parse(data.AsMemory(Offset(i), Offset(i + 1) - Offset(i))).RootElement).ToArray();
        return new(summary.Channel, parts[0], parts[1], parts[2], parts[3]);
    }

    public static async Task<DecodedKernelFrame> ReceiveAsync(WebSocket socket, KernelWireProtocol protocol, CancellationToken cancellationToken)
    {
        var (data, type) = await RelayedConnection.ReceiveAsync(socket, cancellationToken);
        Assert.NotEqual(WebSocketMessageType.Close, type);
        return Decode(data, type == WebSocketMessageType.Text, protocol);
    }
}
