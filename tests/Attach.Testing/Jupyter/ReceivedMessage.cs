using System.Text.Json;

namespace Attach.Testing.Jupyter;

/// <summary>A message a test client received on a kernel channel, decoded independently of the gateway's codec.</summary>
public sealed record ReceivedMessage(string Channel, JsonElement Header, JsonElement ParentHeader, JsonElement Content, int BufferCount)
{
    public string MsgType => Header.GetProperty("msg_type").GetString()!;

    public string? ParentMsgId => ParentHeader.ValueKind == JsonValueKind.Object && ParentHeader.TryGetProperty("msg_id", out var id) ? id.GetString() : null;

    /// <summary>For <c>stream</c> messages: the text.</summary>
    public string? Text => MsgType == "stream" ? Content.GetProperty("text").GetString() : null;

    public override string ToString() => $"{Channel}/{MsgType}{(Text is { } t ? $" {t.Trim()}" : "")}";
}
