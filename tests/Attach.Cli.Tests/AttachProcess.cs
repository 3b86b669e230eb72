using System.Diagnostics;
using Attach.Testing.Processes;

namespace Attach.Cli.Tests;

/// <summary>Runs the built attach command as its own process, as a shell would.</summary>
internal static class AttachProcess
{
    public static string Dll { get; } = Path.Combine(RepositoryPaths.Root, "attach-agent", "Attach.Cli", "bin", RepositoryPaths.Configuration, "net10.0", "attach.dll");

    public static async Task<CliResult> RunAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Dll);
        foreach (var argument in args)
        {
            start.ArgumentList.Add(argument);
        }

        // Nothing from the developer's own login may leak in.
        foreach (var name in new[] { "ATTACH_GATEWAY", "ATTACH_TOKEN", "ATTACH_SHIM", "ATTACH_AGENT_SOCKET", "ATTACH_SESSION", "LD_PRELOAD" })
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
