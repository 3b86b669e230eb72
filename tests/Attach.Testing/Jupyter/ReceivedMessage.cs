using System.Text.Json;

namespace Attach.Testing.Jupyter;

/// <summary>A message a test client received on a kernel channel, decoded independently of the gateway's codec.</summary>
public sealed record ReceivedMessage(string Channel, JsonElement Header, JsonElement ParentHeader, JsonElement Content, int BufferCount)
{
    public string MsgType => Header.GetProperty("msg_type").GetString()!;

    public string? ParentMsgId => ParentHeader.ValueKind == JsonValueKind.Object && ParentHeader.TryGetProperty("msg_id", out var id) ? id.GetString() : null;

    /// <summary>For <c>stream</c> messages: the text.</summary>
    public string? Text => MsgType == "stream" ? Content.GetProperty("text").GetString() : null;

    /// <summary>
    /// Whether this is the <c>stream</c> output of <c>print(line)</c>. Python's print writes the text and the newline
    /// separately, and ipykernel may flush between the two writes (it does on a loaded machine), so the output comes
    /// as <c>"line\n"</c> or as <c>"line"</c> followed by <c>"\n"</c>: both count.
    /// </summary>
    public bool Printed(string line) => Text is { } text && text.TrimEnd('\n') == line;

    public override string ToString() => $"{Channel}/{MsgType}{(Text is { } t ? $" {t.Trim()}" : "")}";
}
