namespace Attach.Cli;

/// <summary>
/// What <c>attach</c> exits with. Stable: scripts rely on these numbers (README.md lists them).
/// <c>attach run</c> exits with its command's code once the command has started.
/// </summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>The command line is wrong (unknown option, missing argument, bad value).</summary>
    public const int Usage = 1;

    /// <summary>Not logged in, or the gateway refused the token.</summary>
    public const int NotLoggedIn = 2;

    /// <summary>The gateway could not be reached (nothing listens, DNS, timeout).</summary>
    public const int Unreachable = 3;

    /// <summary>The kernel (or other thing named) does not exist, or is not yours.</summary>
    public const int NotFound = 4;

    /// <summary>The gateway answered, but not as an attach gateway should (5xx, unexpected body).</summary>
    public const int GatewayError = 5;

    /// <summary>libattach.so or the Python interpreter was not found.</summary>
    public const int SetupMissing = 6;

    /// <summary>A local file could not be read or written (the config file, a kernelspec).</summary>
    public const int LocalFileError = 7;

    /// <summary><c>attach run</c>: the command could not be started (not found, not executable), as a shell says.</summary>
    public const int CommandNotStarted = 127;
}
