namespace Attach.Cli.Configuration;

/// <summary>What <c>attach login</c> stores in <c>config.json</c>. Field names are stable.</summary>
/// <param name="Gateway">The gateway's base URL, without the token.</param>
/// <param name="Token">The gateway token.</param>
/// <param name="Shim">libattach.so, when it is not found by the default lookup.</param>
/// <param name="AgentSocket">The agent's shim socket, when the shim's own lookup would not find it.</param>
internal sealed record CliConfig(string? Gateway, string? Token, string? Shim = null, string? AgentSocket = null);
