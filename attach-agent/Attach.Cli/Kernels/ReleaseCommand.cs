using System.CommandLine;
using Attach.Cli.Configuration;
using Attach.Cli.Gateway;
using Attach.Contracts.Kernels;

namespace Attach.Cli.Kernels;

/// <summary><c>attach release &lt;kernel-id&gt;|--all</c>: gives a kernel's slice back to the pool now; the kernel keeps running.</summary>
internal static class ReleaseCommand
{
    public static Command Create(CliContext context)
    {
        var kernel = new Argument<string?>("kernel-id") { Description = "The kernel whose GPU slice to release ('attach status' lists them)", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Release the slices of all your kernels" };
        var command = new Command("release", "Give a kernel's GPU slice back to the pool now (the kernel keeps its state)") { kernel, all };
        command.Validators.Add(result =>
        {
            var hasKernel = result.GetValue(kernel) is not null;
            var hasAll = result.GetValue(all);
            if (hasKernel == hasAll)
            {
                result.AddError("Name one kernel ('attach release <kernel-id>') or use --all, not both.");
            }
        });
        CliValidation.RejectOptionLike(command, kernel);
        command.SetAction(CliAction.Run(context, async (parse, cancellationToken) =>
        {
            using var client = new GatewayClient(new ConfigStore(context).RequireLogin(), context.HttpHandler);
            if (parse.GetValue(kernel) is { } id)
            {
                var before = await client.KernelAsync(id, cancellationToken);
                if (before.Attachment is null)
                {
                    context.Out.WriteLine($"{id} holds no GPU ({before.State}); nothing to release.");
                    return ExitCodes.Ok;
                }

                return Report(context, await client.ReleaseAsync(id, cancellationToken), before.Attachment);
            }

            var holding = (await client.KernelsAsync(cancellationToken)).Where(k => k.Attachment is not null).ToList();
            if (holding.Count == 0)
            {
                context.Out.WriteLine("None of your kernels holds a GPU; nothing to release.");
            }

            var exitCode = ExitCodes.Ok;
            foreach (var k in holding)
            {
                exitCode = Math.Max(exitCode, Report(context, await client.ReleaseAsync(k.KernelId, cancellationToken), k.Attachment!));
            }

            return exitCode;
        }));
        return command;
    }

    private static int Report(CliContext context, KernelStatus after, AttachmentInfo released)
    {
        if (after.State == KernelState.Failed)
        {
            context.Error.WriteLine($"attach: {after.KernelId}: the release failed: {after.Reason}");
            return ExitCodes.GatewayError;
        }

        context.Out.WriteLine($"{after.KernelId}: released GPU {released.GpuIndex} ({released.GpuName}), {CliConsole.MiB(released.SliceMemoryMiB)} slice; now {after.State}.");
        return ExitCodes.Ok;
    }
}
