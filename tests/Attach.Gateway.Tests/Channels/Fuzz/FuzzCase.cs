using System.Text.Json;
using System.Text.Json.Serialization;

namespace Attach.Gateway.Tests.Channels.Fuzz;

/// <summary>One fuzzed connection: the frames a client sends, in order, on one protocol. Stored as JSON in Corpus/.</summary>
internal sealed record FuzzCase(
    [property: JsonPropertyName("protocol")] string Protocol,
    [property: JsonPropertyName("frames")] IReadOnlyList<FuzzFrame> Frames,
    [property: JsonPropertyName("note")] string? Note = null)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Indented);

    public static FuzzCase FromJson(string json) =>
        JsonSerializer.Deserialize<FuzzCase>(json) ?? throw new InvalidDataException("empty corpus file");

    public override string ToString() => $"{Protocol}: {string.Join(", ", Frames.Select(f => f.ToString()))}";
}

/// <summary>One WebSocket message a fuzzed client sends, and what the generator meant it to be.</summary>
internal sealed record FuzzFrame(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("text")] bool IsText,
    [property: JsonPropertyName("data")] byte[] Data,
    [property: JsonPropertyName("mustBeInvalid")] bool MustBeInvalid = false)
{
    public override string ToString() => $"{Kind}({(IsText ? "text" : "binary")}, {Data.Length} B)";
}
