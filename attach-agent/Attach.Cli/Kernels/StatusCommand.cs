using System.CommandLine;
using Attach.Cli.Configuration;
using Attach.Cli.Gateway;
using Spectre.Console;

namespace Attach.Cli.Kernels;

/// <summary><c>attach status [kernel-id] [--json]</c>: your kernels and the GPU slices they hold.</summary>
internal static class StatusCommand
{
    public static Command Create(CliContext context)
    {
        var kernel = new Argument<string?>("kernel-id") { Description = "Only this kernel (exit code 4 when it is not yours or unknown)", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "Machine-readable output (stable field names)" };
        var command = new Command("status", "Your kernels: state, GPU, slice, since when, when an idle slice goes back") { kernel, json };
        CliValidation.RejectOptionLike(command, kernel);
        command.SetAction(CliAction.Run(context, async (parse, cancellationToken) =>
        {
            using var client = new GatewayClient(new ConfigStore(context).RequireLogin(), context.HttpHandler);
            var kernels = parse.GetValue(kernel) is { } id
                ? [await client.KernelAsync(id, cancellationToken)]
                : await client.KernelsAsync(cancellationToken);
            var views = kernels.OrderBy(k => k.KernelId, StringComparer.Ordinal).Select(KernelView.From).ToList();
            if (parse.GetValue(json))
            {
                CliJson.Write(context.Out, new StatusView(views));
                return ExitCodes.Ok;
            }

            if (views.Count == 0)
            {
                context.Out.WriteLine("No kernels yet. A kernel appears here once it has run a cell through the gateway or a process of it reached the GPU.");
                return ExitCodes.Ok;
            }

            var now = context.TimeProvider.GetUtcNow();
            var table = new Table().AddColumns("Kernel", "State", "GPU", "Slice", "Since", "Release");
            foreach (var k in views)
            {
                table.AddRow(
                    new Text(k.KernelId),
                    new Text(k.Busy ? $"{k.State} (busy)" : k.State),
                    new Text(k.Gpu is { } g ? $"{g.Index} {g.Name} on {g.NodeId}" : "-"),
                    new Text(k.SliceMiB is { } s && k.Gpu is { } gpu ? $"{CliConsole.MiB(s)} of {CliConsole.MiB(gpu.MemoryMiB)}" : "-"),
                    new Text(CliConsole.Relative(k.Since, now)),
                    new Text(k.ReleaseAt is { } at ? CliConsole.Relative(at, now) + " if idle" : "-"));
            }

            CliConsole.For(context.Out, context.OutputIsTerminal).Write(table);
            foreach (var failed in views.Where(k => k.State == "Failed"))
            {
                context.Out.WriteLine($"{failed.KernelId}: {failed.Reason}");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }
}
