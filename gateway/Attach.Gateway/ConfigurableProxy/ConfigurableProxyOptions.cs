using System.ComponentModel.DataAnnotations;

namespace Attach.Gateway.ConfigurableProxy;

/// <summary>
/// configurable-http-proxy's route API on its own port (section <c>Gateway:ConfigurableProxy</c>), so JupyterHub's
/// stock <c>ConfigurableHTTPProxy</c> can drive the gateway. Off unless <see cref="Port"/> is set.
/// </summary>
internal sealed class ConfigurableProxyOptions
{
    /// <summary>The variable configurable-http-proxy reads its API token from; JupyterHub sets the same one.</summary>
    public const string AuthTokenVariable = "CONFIGPROXY_AUTH_TOKEN";

    /// <summary>The API port (configurable-http-proxy's default is 8001).</summary>
    [Range(1, 65535)]
    public int? Port { get; set; }

    /// <summary>The address the API listens on. Keep it private: whoever reaches it can route traffic.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>The API token; <c>CONFIGPROXY_AUTH_TOKEN</c> from the environment when unset.</summary>
    public string? AuthToken { get; set; }
}
