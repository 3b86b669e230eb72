using System.CommandLine;
using Attach.Cli.Kernels;
using Attach.Cli.Kernelspecs;
using Attach.Cli.Login;
using Attach.Cli.Pool;
using Attach.Cli.Run;

namespace Attach.Cli;

/// <summary>The <c>attach</c> command tree; a table of contents of the commands.</summary>
internal static class AttachCommandLine
{
    public static RootCommand Build(CliContext context) =>
        new("attach: GPUs on demand for notebooks, scripts and IDEs. Exit codes: 0 ok, 1 usage, 2 not logged in or token refused, 3 gateway unreachable, 4 not found, 5 gateway error, 6 libattach.so or interpreter missing, 7 local file error; 'attach run' exits with its command's code.")
        {
            LoginCommand.Create(context),
            StatusCommand.Create(context),
            PoolCommand.Create(context),
            ReleaseCommand.Create(context),
            RunCommand.Create(context),
            KernelspecCommand.Create(context),
        };

    public static Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default) =>
        Build(context).Parse(args).InvokeAsync(new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            // attach run handles signals itself (the command it runs must outlive a Ctrl-C to attach);
            // the other commands end at once on Ctrl-C, as the default would.
            ProcessTerminationTimeout = null,
        }, cancellationToken);
}
