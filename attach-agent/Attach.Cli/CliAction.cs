using System.CommandLine;

namespace Attach.Cli;

/// <summary>Runs a command's body and turns a <see cref="CliException"/> into its message on stderr and its exit code.</summary>
internal static class CliAction
{
    public static Func<ParseResult, CancellationToken, Task<int>> Run(CliContext context, Func<ParseResult, CancellationToken, Task<int>> body) =>
        async (parse, cancellationToken) =>
        {
            try
            {
                return await body(parse, cancellationToken);
            }
            catch (CliException ex)
            {
                await context.Error.WriteLineAsync($"attach: {ex.Message}");
                return ex.ExitCode;
            }
        };
}
