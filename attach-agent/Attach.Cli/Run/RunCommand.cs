using System.CommandLine;
using Attach.Cli.Configuration;
using Attach.Cli.Gateway;
using Attach.Cli.Shim;

namespace Attach.Cli.Run;

/// <summary>
/// <c>attach run [--mem 20G] [--wait|--no-wait] [--batch] [--session NAME] -- python train.py</c>: runs a command with
/// libattach.so preloaded and its own session, follows the session on the hub, exits with the command's code.
/// </summary>
internal static class RunCommand
{
    public static Command Create(CliContext context)
    {
        var mem = new Option<string?>("--mem") { Description = "GPU memory to ask for, e.g. 20G, 20480M (default: the broker's default slice)", HelpName = "size" };
        var wait = new Option<bool>("--wait") { Description = "Wait in the queue when no GPU is free (the shim's default)" };
        var noWait = new Option<bool>("--no-wait") { Description = "Fail at once when no GPU is free" };
        var session = new Option<string?>("--session") { Description = "Session name (default: a fresh run-<id>); processes of one session share its lease", HelpName = "name" };
        var shim = new Option<string?>("--shim") { Description = $"Path of libattach.so (default: ${ShimLocator.Variable}, config.json, next to attach, the checkout's build)", HelpName = "path" };
        var socket = new Option<string?>("--socket") { Description = "The agent's shim socket (sets ATTACH_AGENT_SOCKET; default: config.json, else the shim's own lookup)", HelpName = "path" };
        var batch = new Option<bool>("--batch") { Description = "Ask for the GPU as batch work: it waits behind every interactive request (notebook cells, plain attach run)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Do not follow the session on the hub (the shim still prints its own attach: lines)" };
        var command = new Argument<string[]>("command") { Description = "The command to run, after '--'", Arity = ArgumentArity.OneOrMore };
        var run = new Command("run", "Run a command with the shim: it gets a GPU when it first calls cuInit, and gives it back when it exits")
        {
            mem, wait, noWait, batch, session, shim, socket, quiet, command,
        };
        run.Validators.Add(result =>
        {
            if (result.GetValue(wait) && result.GetValue(noWait))
            {
                result.AddError("Use --wait or --no-wait, not both.");
            }

            if (result.GetValue(mem) is { } size && !MemorySize.TryParseMiB(size, out _))
            {
                result.AddError($"--mem {size}: use a size like 20G, 20480M or 512 (MiB).");
            }

            // Tokens before '--' that look like options but are none land in the command; say so instead of running them.
            if (result.GetValue(command) is [{ } first, ..] && first.StartsWith('-') && !result.Tokens.Any(t => t.Value == "--"))
            {
                result.AddError($"Unknown option {first}. Put the command to run after '--': attach run [options] -- python train.py");
            }

            if (result.GetValue(session) is { } name && !SessionIds.IsValid(name))
            {
                result.AddError($"--session {name}: use letters, digits, '.', '_' or '-' (at most 128).");
            }
        });
        run.SetAction(CliAction.Run(context, async (parse, cancellationToken) =>
        {
            var store = new ConfigStore(context);
            var config = store.Load();
            var located = ShimLocator.Locate(context, parse.GetValue(shim), config);
            if (!located.Exists)
            {
                await context.Error.WriteLineAsync($"attach: warning: {located.Path} does not exist; the command runs without the shim (no GPU lease).");
            }

            var sessionId = parse.GetValue(session) ?? SessionIds.New();
            long? memoryMiB = parse.GetValue(mem) is { } m && MemorySize.TryParseMiB(m, out var mib) ? mib : null;
            bool? waitForGpu = parse.GetValue(noWait) ? false : parse.GetValue(wait) ? true : null;
            var variables = RunEnvironment.For(
                context.Variable(RunEnvironment.Preload), context.Variable(RunEnvironment.Verbose), located.Path, sessionId, memoryMiB, waitForGpu,
                parse.GetValue(socket) ?? config.AgentSocket, parse.GetValue(batch));

            await using var view = parse.GetValue(quiet) ? null : await FollowAsync(context, store, sessionId, cancellationToken);
            var exitCode = await ChildProcess.RunAsync(parse.GetRequiredValue(command), variables);
            if (view is not null)
            {
                await view.WaitForReleaseAsync(TimeSpan.FromSeconds(2));
            }

            return exitCode;
        }));
        return run;
    }

    private static async Task<LiveSessionView?> FollowAsync(CliContext context, ConfigStore store, string session, CancellationToken cancellationToken)
    {
        GatewayLogin login;
        try
        {
            login = store.RequireLogin();
        }
        catch (CliException)
        {
            // Not logged in: the command still runs with the shim; only the live view needs the gateway.
            return null;
        }

        try
        {
            using var gateway = new GatewayClient(login, handler: null);
            await gateway.RegisterSessionAsync(session, cancellationToken);
        }
        catch (CliException ex)
        {
            await context.Error.WriteLineAsync($"attach: the session could not be registered with the gateway ({ex.Message}); its GPU state may not show live.");
        }

        return await LiveSessionView.StartAsync(login, context.Error, session, cancellationToken);
    }
}
