namespace Attach.Agent.Shim;

/// <summary>Where the shim socket lives when <see cref="ShimOptions.SocketPath"/> is not set.</summary>
internal static class ShimSocketPath
{
    /// <summary>The system-wide socket, for an agent running as root (the DaemonSet, the systemd unit).</summary>
    public const string System = "/run/attach/agent.sock";

    /// <summary>The longest path <c>sockaddr_un.sun_path</c> holds on Linux (108 bytes with the terminating NUL).</summary>
    public const int MaxPathBytes = 107;

    /// <summary>
    /// Root: <see cref="System"/>. Anyone else cannot create <c>/run/attach</c>, so a per-user runtime directory
    /// (<c>$XDG_RUNTIME_DIR/attach/agent.sock</c>), or <c>.attach/agent.sock</c> under the working directory, where
    /// <c>make run</c> keeps the rest of its state, when there is none.
    /// </summary>
    public static string Default() => Default(Environment.IsPrivilegedProcess, Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR"));

    internal static string Default(bool privileged, string? runtimeDirectory) =>
        privileged ? System
        : !string.IsNullOrWhiteSpace(runtimeDirectory) && Path.IsPathRooted(runtimeDirectory) ? Path.Combine(runtimeDirectory, "attach", "agent.sock")
        : Path.Combine(".attach", "agent.sock");
}
