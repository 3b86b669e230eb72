using System.ComponentModel.DataAnnotations;

namespace Attach.Gateway.ConfigurableProxy;

/// <summary>
/// configurable-http-proxy's route API on its own port (section <c>Gateway:ConfigurableProxy</c>), so JupyterHub's
/// stock <c>ConfigurableHTTPProxy</c> can drive the gateway. Off unless <see cref="Port"/> is set.
/// </summary>
internal sealed class ConfigurableProxyOptions : IValidatableObject
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

    /// <summary>
    /// configurable-http-proxy's <c>--default-target</c>: a route <c>/</c> to this URL, in the table from the start
    /// (listed by <c>GET /api/routes</c>, replaceable and removable through the API like any other).
    /// </summary>
    public Uri? DefaultTarget { get; set; }

    /// <summary>
    /// configurable-http-proxy's <c>--error-target</c>: when a route's server does not answer, the page comes from
    /// <c>GET {ErrorTarget}/{code}?url={request path}</c> (JupyterHub serves one at <c>{hub}/hub/error</c>), sent with
    /// that code. Unset, or if it fails too: the gateway's own page.
    /// </summary>
    public Uri? ErrorTarget { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DefaultTarget is { } target && (!target.IsAbsoluteUri || target.Scheme is not ("http" or "https")))
        {
            yield return new ValidationResult("Gateway:ConfigurableProxy:DefaultTarget must be an absolute http(s) URL, e.g. http://127.0.0.1:8081/ (the hub).", [nameof(DefaultTarget)]);
        }

        if (ErrorTarget is { } error && (!error.IsAbsoluteUri || error.Scheme is not ("http" or "https")))
        {
            yield return new ValidationResult("Gateway:ConfigurableProxy:ErrorTarget must be an absolute http(s) URL, e.g. http://127.0.0.1:8081/hub/error.", [nameof(ErrorTarget)]);
        }
    }
}
