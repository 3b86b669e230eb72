namespace Attach.Cli.Run;

/// <summary>The variables <c>attach run</c> sets for its command, on top of its own environment.</summary>
internal static class RunEnvironment
{
    public const string Session = "ATTACH_SESSION";
    public const string Memory = "ATTACH_MEMORY";
    public const string Wait = "ATTACH_WAIT";
    public const string AgentSocket = "ATTACH_AGENT_SOCKET";
    public const string Preload = "LD_PRELOAD";
    public const string Verbose = "ATTACH_VERBOSE";
    public const string Priority = "ATTACH_PRIORITY";

    /// <param name="inherited">The LD_PRELOAD attach itself runs with, kept after the shim.</param>
    /// <param name="inheritedVerbose">The ATTACH_VERBOSE attach runs with; when unset the shim is told to speak
    /// (it is silent when stderr is not a terminal, as under an IDE or a pipe).</param>
    /// <param name="shim">libattach.so (absolute).</param>
    /// <param name="session">The session id.</param>
    /// <param name="memoryMiB">The slice size asked for; null for the broker's default.</param>
    /// <param name="wait">True: queue; false: fail at once; null: the shim's default (queue).</param>
    /// <param name="agentSocket">The agent's socket; null leaves the shim's own lookup (and any inherited variable).</param>
    /// <param name="batch">True: the GPU request waits in the batch class, behind every interactive one (<c>--batch</c>).</param>
    public static IReadOnlyDictionary<string, string> For(
        string? inherited, string? inheritedVerbose, string shim, string session, long? memoryMiB, bool? wait, string? agentSocket, bool batch = false)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            // The shim first, so its cuInit is the one the dynamic linker finds; whatever was preloaded stays.
            [Preload] = string.IsNullOrWhiteSpace(inherited) || inherited.Split(':', ' ').Contains(shim, StringComparer.Ordinal)
                ? shim
                : $"{shim}:{inherited}",
            [Session] = session,
        };
        if (inheritedVerbose is null)
        {
            variables[Verbose] = "1";
        }

        if (memoryMiB is { } mib)
        {
            variables[Memory] = mib.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (wait is { } w)
        {
            variables[Wait] = w ? "1" : "0";
        }

        if (batch)
        {
            variables[Priority] = "batch";
        }

        if (agentSocket is not null)
        {
            variables[AgentSocket] = agentSocket;
        }

        return variables;
    }
}
