using System.ComponentModel.DataAnnotations;
using Attach.Agent.Slices;
using Microsoft.Extensions.Options;

namespace Attach.Agent;

/// <summary>The agent's configuration (section <c>Agent</c>; environment <c>Agent__…</c>).</summary>
internal sealed class AgentOptions : IValidatableObject
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Agent";

    /// <summary>The node's name, unique in the pool.</summary>
    [Required(ErrorMessage = "Agent:NodeId must not be empty (it defaults to the machine name).")]
    [MaxLength(253)]
    public string NodeId { get; set; } = Environment.MachineName;

    /// <summary>Where the broker listens, e.g. <c>http://127.0.0.1:5100</c>.</summary>
    // [Required] and ValidateOnStart guarantee a value once the host has started.
    [Required(ErrorMessage = "Agent:BrokerUrl is not set. Set Agent__BrokerUrl to the broker's base URL, e.g. http://127.0.0.1:5100.")]
    public Uri BrokerUrl { get; set; } = null!;

    /// <summary>Where the broker reaches this agent's API; sent in every heartbeat.</summary>
    [Required(ErrorMessage = "Agent:AdvertisedUrl is not set. Set Agent__AdvertisedUrl to the URL the broker can call this agent on, e.g. http://10.0.0.7:5200.")]
    public Uri AdvertisedUrl { get; set; } = null!;

    /// <summary><c>auto</c> (NVIDIA devices when present), <c>simulated</c> or <c>nvidia</c>.</summary>
    public GpuBackendMode Backend { get; set; } = GpuBackendMode.Auto;

    /// <summary>How often the agent reports its GPUs and ledger to the broker.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true,
        ErrorMessage = "Agent:HeartbeatInterval must be between 00:00:01 and 00:05:00.")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Where the agent keeps the state that must outlive it (the slice ledger): <c>/var/lib/attach/agent</c> as root,
    /// otherwise <c>.attach/agent</c> under the working directory.
    /// </summary>
    [Required(ErrorMessage = "Agent:StateDirectory must not be empty; it holds the slice ledger (default /var/lib/attach/agent as root, else .attach/agent).")]
    public string StateDirectory { get; set; } = LedgerFile.DefaultDirectory();

    /// <summary>The simulated pool.</summary>
    [Required]
    [ValidateObjectMembers]
    public SimulatedGpuOptions Simulated { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IsHttpUrl(BrokerUrl))
        {
            yield return new ValidationResult(
                $"Agent:BrokerUrl must be an absolute http(s) URL, e.g. http://127.0.0.1:5100; it is '{BrokerUrl}'.", [nameof(BrokerUrl)]);
        }

        if (!IsHttpUrl(AdvertisedUrl))
        {
            yield return new ValidationResult(
                $"Agent:AdvertisedUrl must be an absolute http(s) URL, e.g. http://10.0.0.7:5200; it is '{AdvertisedUrl}'.", [nameof(AdvertisedUrl)]);
        }
    }

    private static bool IsHttpUrl(Uri? url) =>
        url is { IsAbsoluteUri: true } && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps);
}
