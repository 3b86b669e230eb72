namespace Attach.Cli;

/// <summary>A failure to report to the user as one message (what happened, what to do next) and an exit code.</summary>
internal sealed class CliException : Exception
{
    public CliException()
        : this(ExitCodes.GatewayError, "attach failed")
    {
    }

    public CliException(string message)
        : this(ExitCodes.GatewayError, message)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = ExitCodes.GatewayError;
    }

    public CliException(int exitCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ExitCode = exitCode;
    }

    /// <summary>One of <see cref="ExitCodes"/>.</summary>
    public int ExitCode { get; }
}
