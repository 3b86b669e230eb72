namespace Attach.Agent.Suspend;

/// <summary>How a program ended and what it printed.</summary>
/// <param name="ExitCode">Its exit status (0–255 on Linux).</param>
/// <param name="StandardOutput">Everything it wrote to stdout.</param>
/// <param name="StandardError">Everything it wrote to stderr.</param>
internal sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Both streams, stderr first (where <c>cuda-checkpoint</c> reports errors), trimmed.</summary>
    public string Output => string.Join('\n', new[] { StandardError.Trim(), StandardOutput.Trim() }.Where(text => text.Length > 0));
}
