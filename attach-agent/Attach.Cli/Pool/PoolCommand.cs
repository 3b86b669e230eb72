using System.CommandLine;
using Attach.Cli.Configuration;
using Attach.Cli.Gateway;
using Spectre.Console;

namespace Attach.Cli.Pool;

/// <summary><c>attach pool [--json]</c>: every GPU, what is bound on it, and who holds it.</summary>
internal static class PoolCommand
{
    public static Command Create(CliContext context)
    {
        var json = new Option<bool>("--json") { Description = "Machine-readable output (stable field names)" };
        var command = new Command("pool", "The GPU pool: nodes, GPUs (simulated ones say so), memory used, holders") { json };
        command.SetAction(CliAction.Run(context, async (parse, cancellationToken) =>
        {
            using var client = new GatewayClient(new ConfigStore(context).RequireLogin(), context.HttpHandler);
            var pool = PoolJson.From(await client.PoolAsync(cancellationToken));
            if (parse.GetValue(json))
            {
                CliJson.Write(context.Out, pool);
                return ExitCodes.Ok;
            }

            if (pool.Nodes.Count == 0)
            {
                context.Out.WriteLine("The pool is empty: no agent has registered with the broker yet. Is an agent running ('make run' starts one)?");
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("Node", "GPU", "Memory used / total", "Holders", "Queue");
            foreach (var node in pool.Nodes)
            {
                foreach (var gpu in node.Gpus)
                {
                    var holders = gpu.Holders.Count == 0
                        ? "-"
                        : string.Join('\n', gpu.Holders.Select(h => $"{h.KernelId} ({h.Owner}, {CliConsole.MiB(h.MemoryMiB)}, {h.ComputePercent}% SM)"));
                    table.AddRow(
                        new Text(node.NodeId),
                        new Text($"{gpu.Index} {gpu.Name}"),
                        new Text($"{CliConsole.MiB(gpu.MemoryUsedMiB)} / {CliConsole.MiB(gpu.MemoryTotalMiB)}"),
                        new Text(holders),
                        new Text("-"));
                }
            }

            table.Caption = new TableTitle(Markup.Escape(
                string.Join("; ", pool.Nodes.Select(n => $"{n.NodeId}: {n.Backend.Name} backend{(n.Backend.Simulated ? " (simulated GPUs, not real hardware)" : "")}"))
                + ". Queue: none yet; a request that finds no free slice is refused with the reason."));
            CliConsole.For(context.Out, context.OutputIsTerminal).Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
