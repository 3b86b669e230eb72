namespace Attach.Cli.Configuration;

/// <summary>The gateway and token a command uses, and where they came from (for messages).</summary>
internal sealed record GatewayLogin(Uri Gateway, string Token, string Source);
