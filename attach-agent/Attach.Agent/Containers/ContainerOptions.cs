using System.ComponentModel.DataAnnotations;

namespace Attach.Agent.Containers;

/// <summary>Containers through the Docker engine (section <c>Agent:Containers</c>; environment <c>Agent__Containers__…</c>).</summary>
internal sealed class ContainerOptions : IValidatableObject
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Agent:Containers";

    /// <summary>The engine's default socket.</summary>
    public static readonly Uri DefaultDockerUri = new("unix:///var/run/docker.sock");

    /// <summary>Whether the agent runs containers at all; when false the containers API answers 503 and says so.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where the Docker engine listens: <c>unix:///var/run/docker.sock</c> or <c>tcp://host:2375</c>.</summary>
    [Required(ErrorMessage = "Agent:Containers:DockerUri must not be empty; the engine's default is unix:///var/run/docker.sock.")]
    public Uri DockerUri { get; set; } = DefaultDockerUri;

    /// <summary>How long a stopped container gets to exit after SIGTERM before it is killed.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true,
        ErrorMessage = "Agent:Containers:StopTimeout must be between 00:00:00 and 00:00:30.")]
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether containers of this node whose lease is not in the ledger are stopped and removed when the agent starts.</summary>
    public bool RemoveOrphansOnStart { get; set; } = true;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DockerUri is not { IsAbsoluteUri: true } || DockerUri.Scheme is not ("unix" or "tcp" or "http" or "https" or "npipe"))
        {
            yield return new ValidationResult(
                $"Agent:Containers:DockerUri must be an absolute unix://, tcp:// or http(s):// URI, e.g. unix:///var/run/docker.sock; it is '{DockerUri}'.",
                [nameof(DockerUri)]);
        }
    }
}
