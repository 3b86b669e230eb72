using System.Text.Json.Serialization;

namespace Attach.Cli.Kernelspecs;

/// <summary>A Jupyter kernelspec (<c>kernel.json</c>), as jupyter_client reads it.</summary>
internal sealed record Kernelspec(
    [property: JsonPropertyName("argv")] IReadOnlyList<string> Argv,
    [property: JsonPropertyName("display_name")] string DisplayName,
    [property: JsonPropertyName("language")] string Language,
    [property: JsonPropertyName("interrupt_mode")] string InterruptMode,
    [property: JsonPropertyName("env")] IReadOnlyDictionary<string, string> Env,
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, object> Metadata);
