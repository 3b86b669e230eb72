namespace Attach.Agent.Suspend;

/// <summary>Runs an external program to completion and captures what it printed.</summary>
internal interface ICommandRunner
{
    /// <summary>
    /// Runs <paramref name="executable"/> with <paramref name="arguments"/> (passed as they are, no shell). When
    /// <paramref name="cancellationToken"/> fires, the program is killed and the task is cancelled.
    /// </summary>
    /// <exception cref="System.ComponentModel.Win32Exception">The program could not be started (e.g. not executable).</exception>
    Task<CommandResult> RunAsync(string executable, IReadOnlyList<string> arguments, CancellationToken cancellationToken);
}
