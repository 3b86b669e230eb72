using System.ComponentModel.DataAnnotations;

namespace Attach.Gateway;

/// <summary>The gateway's settings (section <c>Gateway</c>).</summary>
internal sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>The Jupyter Server behind the gateway (its base URL, with any base_url path).</summary>
    [Required(ErrorMessage = "Gateway:JupyterUrl is not set: point it at the Jupyter Server, e.g. http://127.0.0.1:8888/.")]
    public Uri? JupyterUrl { get; set; }

    /// <summary>The Jupyter Server's own token. Sent only to the Jupyter Server, never to a browser.</summary>
    [Required(ErrorMessage = "Gateway:JupyterToken is not set: the gateway authenticates to the Jupyter Server with it.")]
    public string JupyterToken { get; set; } = "";

    /// <summary>The kernel broker.</summary>
    [Required(ErrorMessage = "Gateway:BrokerUrl is not set: point it at the kernel broker, e.g. http://127.0.0.1:5100/.")]
    public Uri? BrokerUrl { get; set; }

    /// <summary>The access token users present (the one <c>make run</c> prints). At least 32 characters.</summary>
    [Required(ErrorMessage = "Gateway:Token is not set: users need a token to reach the gateway (make run generates one).")]
    [MinLength(32, ErrorMessage = "Gateway:Token must be at least 32 characters.")]
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
}
