using System.ComponentModel.DataAnnotations;
using System.Text;

namespace Attach.Agent.Shim;

/// <summary>The unix socket the in-process shim connects to (section <c>Agent:Shim</c>; environment <c>Agent__Shim__…</c>).</summary>
internal sealed class ShimOptions : IValidatableObject
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Agent:Shim";

    /// <summary>Whether the agent listens for shims at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The socket's path; empty for the default (see <see cref="ShimSocketPath.Default()"/>): <c>/run/attach/agent.sock</c>
    /// as root, otherwise <c>$XDG_RUNTIME_DIR/attach/agent.sock</c>, otherwise <c>.attach/agent.sock</c>.
    /// </summary>
    public string? SocketPath { get; set; }

    /// <summary>Connections served at once; one more is answered <c>busy</c> and closed.</summary>
    [Range(1, 65536, ErrorMessage = "Agent:Shim:MaxConnections must be between 1 and 65536.")]
    public int MaxConnections { get; set; } = 1024;

    /// <summary>How long a new connection may take to complete its <c>hello</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true,
        ErrorMessage = "Agent:Shim:HelloTimeout must be between 00:00:00.100 and 00:05:00.")]
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a frame may take to arrive once its first byte has (and a reply to be taken by the client).
    /// Between frames a connection may stay silent for as long as its process runs.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true,
        ErrorMessage = "Agent:Shim:FrameTimeout must be between 00:00:00.100 and 00:05:00.")]
    public TimeSpan FrameTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a queued request asks the broker again (which keeps its place and refreshes the position).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true,
        ErrorMessage = "Agent:Shim:QueuePollInterval must be between 00:00:00.100 and 00:01:00.")]
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The path the socket is bound to: <see cref="SocketPath"/>, or the default, made absolute.</summary>
    public string ResolvedSocketPath => Path.GetFullPath(string.IsNullOrWhiteSpace(SocketPath) ? ShimSocketPath.Default() : SocketPath);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            yield break;
        }

        var path = ResolvedSocketPath;
        var bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes > ShimSocketPath.MaxPathBytes)
        {
            yield return new ValidationResult(
                $"Agent:Shim:SocketPath '{path}' is {bytes} bytes long; a unix socket path may have at most {ShimSocketPath.MaxPathBytes}. Choose a shorter path.",
                [nameof(SocketPath)]);
        }
    }
}
