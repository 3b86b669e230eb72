using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Attach.Cli.Run;

/// <summary>
/// Runs the command with attach's own stdin, stdout and stderr, and returns its exit code (128 + n when a
/// signal n ended it, as shells report). Ctrl-C reaches the command from the terminal (same process
/// group), so attach ignores it and waits; SIGTERM, SIGHUP and SIGQUIT sent to attach are passed on.
/// </summary>
internal static partial class ChildProcess
{
    public static async Task<int> RunAsync(IReadOnlyList<string> command, IReadOnlyDictionary<string, string> variables)
    {
        var start = new ProcessStartInfo(command[0]) { UseShellExecute = false };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in variables)
        {
            start.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("no process");
        }
        catch (Win32Exception ex)
        {
            throw new CliException(ExitCodes.CommandNotStarted, $"'{command[0]}' could not be started: {ex.Message}. Check the command after '--' (is it on PATH?).", ex);
        }

        using (process)
        using (Forward(PosixSignal.SIGINT, process, signal: null))
        using (Forward(PosixSignal.SIGTERM, process, signal: 15))
        using (Forward(PosixSignal.SIGHUP, process, signal: 1))
        using (Forward(PosixSignal.SIGQUIT, process, signal: 3))
        {
            await process.WaitForExitAsync();
            return process.ExitCode;
        }
    }

    private static PosixSignalRegistration? Forward(PosixSignal posixSignal, Process process, int? signal)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        return PosixSignalRegistration.Create(posixSignal, context =>
        {
            context.Cancel = true;
            if (signal is { } number && !process.HasExited)
            {
                _ = Kill(process.Id, number);
            }
        });
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Kill(int pid, int signal);
}
