using System.ComponentModel.DataAnnotations;
using Attach.Gateway.ConfigurableProxy;
using Attach.Gateway.Security;

namespace Attach.Gateway;

/// <summary>The gateway's settings (section <c>Gateway</c>).</summary>
internal sealed class GatewayOptions : IValidatableObject
{
    public const string Section = "Gateway";

    /// <summary>
    /// A JSON file of users, each with a hashed token and their own backends (see <see cref="Users.UsersFile"/>).
    /// When set, backends live under <c>/user/{name}/</c> and <see cref="JupyterUrl"/>, <see cref="JupyterToken"/>,
    /// <see cref="Token"/> and <see cref="User"/> are not used; when unset, the gateway serves one user.
    /// </summary>
    public string? UsersFile { get; set; }

    /// <summary>JWT bearer tokens from an identity provider (off unless an authority or a signing key is set).</summary>
    public JwtOptions Jwt { get; set; } = new();

    /// <summary>configurable-http-proxy's REST API, for JupyterHub (off unless a port is set).</summary>
    public ConfigurableProxyOptions ConfigurableProxy { get; set; } = new();

    /// <summary>The Jupyter Server behind the gateway (its base URL, with any base_url path).</summary>
    public Uri? JupyterUrl { get; set; }

    /// <summary>The Jupyter Server's own token. Sent only to the Jupyter Server, never to a browser.</summary>
    public string JupyterToken { get; set; } = "";

    /// <summary>The kernel broker.</summary>
    [Required(ErrorMessage = "Gateway:BrokerUrl is not set: point it at the kernel broker, e.g. http://127.0.0.1:5100/.")]
    public Uri? BrokerUrl { get; set; }

    /// <summary>The access token users present (the one <c>make run</c> prints). At least 32 characters.</summary>
    public string Token { get; set; } = "";

    /// <summary>The user the token belongs to (the embedded default has one user).</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9._@-]{1,64}$", ErrorMessage = "Gateway:User may use letters, digits, '.', '_', '@' and '-' (at most 64).")]
    public string User { get; set; } = "developer";

    /// <summary>Where the gateway keeps the keys that sign its login cookies; cookies survive a restart only if set.</summary>
    public string? KeysDirectory { get; set; }

    /// <summary>The largest kernel-channel message, either direction. Outputs with images and widget buffers are large.</summary>
    [Range(64 * 1024, 1024L * 1024 * 1024)]
    public long MaxMessageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>How long a GPU cell may be held waiting for its attach before the gateway gives up on it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan AttachTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Users who see the whole pool on the dashboard: every GPU and slice, who holds it, the queue.</summary>
    public List<string> Admins { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var nested = new List<ValidationResult>();
        Validator.TryValidateObject(Jwt, new ValidationContext(Jwt), nested, validateAllProperties: true);
        Validator.TryValidateObject(ConfigurableProxy, new ValidationContext(ConfigurableProxy), nested, validateAllProperties: true);
        foreach (var result in nested)
        {
            yield return result;
        }

        if (Jwt.Enabled && string.IsNullOrEmpty(Jwt.Audience))
        {
            yield return new ValidationResult("Gateway:Jwt:Audience is not set: name the audience your identity provider issues the gateway's tokens for.", [nameof(Jwt)]);
        }

        if (!string.IsNullOrEmpty(Jwt.SigningKey) && !IsStrongKey(Jwt.SigningKey))
        {
            yield return new ValidationResult("Gateway:Jwt:SigningKey must be base64 of at least 32 bytes.", [nameof(Jwt)]);
        }

        if (ConfigurableProxy.Port is not null && !System.Net.IPAddress.TryParse(ConfigurableProxy.Address, out _))
        {
            yield return new ValidationResult("Gateway:ConfigurableProxy:Address must be an IP address (e.g. 127.0.0.1), the interface the route API listens on.", [nameof(ConfigurableProxy)]);
        }

        if (ConfigurableProxy.Port is not null && string.IsNullOrEmpty(ConfigurableProxy.AuthToken))
        {
            yield return new ValidationResult($"Gateway:ConfigurableProxy:Port is set but no API token is: set {ConfigurableProxyOptions.AuthTokenVariable} (as JupyterHub does) or Gateway:ConfigurableProxy:AuthToken.", [nameof(ConfigurableProxy)]);
        }

        if (!string.IsNullOrEmpty(UsersFile))
        {
            yield break;
        }

        // Single-user mode: one Jupyter Server at the root, one token.
        if (JupyterUrl is null)
        {
            yield return new ValidationResult("Gateway:JupyterUrl is not set: point it at the Jupyter Server, e.g. http://127.0.0.1:8888/ (or set Gateway:UsersFile for several users).", [nameof(JupyterUrl)]);
        }

        if (string.IsNullOrEmpty(JupyterToken))
        {
            yield return new ValidationResult("Gateway:JupyterToken is not set: the gateway authenticates to the Jupyter Server with it.", [nameof(JupyterToken)]);
        }

        if (string.IsNullOrEmpty(Token))
        {
            yield return new ValidationResult("Gateway:Token is not set: users need a token to reach the gateway (make run generates one).", [nameof(Token)]);
        }
        else if (Token.Length < 32)
        {
            yield return new ValidationResult("Gateway:Token must be at least 32 characters.", [nameof(Token)]);
        }
    }

    private static bool IsStrongKey(string base64)
    {
        var bytes = new byte[base64.Length];
        return Convert.TryFromBase64String(base64, bytes, out var length) && length >= 32;
    }
}
