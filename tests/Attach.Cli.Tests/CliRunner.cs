using Attach.Cli;

namespace Attach.Cli.Tests;

/// <summary>Runs the attach command tree in the test process, over strings, a temp home and a given environment.</summary>
internal sealed class CliRunner : IDisposable
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("attach-cli-home-");

    public string Home => _home.FullName;

    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public string Stdin { get; set; } = "";

    /// <summary>Where attach "is installed" (libattach.so is looked for next to it).</summary>
    public string BaseDirectory { get; set; } = AppContext.BaseDirectory;

    public async Task<CliResult> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var input = new StringReader(Stdin);
        var context = new CliContext
        {
            Out = output,
            Error = error,
            In = input,
            Environment = Environment,
            HomeDirectory = Home,
            BaseDirectory = BaseDirectory,
        };
        var exitCode = await AttachCommandLine.RunAsync(args, context);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    public void Dispose() => _home.Delete(recursive: true);
}

internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}
