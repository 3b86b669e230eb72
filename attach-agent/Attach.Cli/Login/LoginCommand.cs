using System.CommandLine;
using Attach.Cli.Configuration;
using Attach.Cli.Gateway;
using Spectre.Console;

namespace Attach.Cli.Login;

/// <summary><c>attach login &lt;gateway-url&gt; [--token T]</c>: checks the token against the gateway, then stores both.</summary>
internal static class LoginCommand
{
    public static Command Create(CliContext context)
    {
        var url = new Argument<string>("gateway-url")
        {
            Description = "The gateway, e.g. http://127.0.0.1:8000/ (the ?token= URL 'make run' prints works too)",
        };
        var token = new Option<string?>("--token")
        {
            Description = "The gateway token; prompted for (or read from stdin) when not given and not in the URL",
        };
        var command = new Command("login", "Check a gateway URL and token, and store them for the other commands") { url, token };
        command.SetAction(CliAction.Run(context, async (parse, cancellationToken) =>
        {
            if (!GatewayUrl.TryParse(parse.GetRequiredValue(url), out var gateway, out var inUrl))
            {
                throw new CliException(ExitCodes.Usage, $"'{parse.GetValue(url)}' is not an http(s) URL. Use the gateway's address, e.g. http://127.0.0.1:8000/.");
            }

            var secret = parse.GetValue(token) ?? inUrl ?? ReadToken(context, gateway);
            var login = new GatewayLogin(gateway, secret, "the command line");
            using var client = new GatewayClient(login, context.HttpHandler);
            var pool = await client.PoolAsync(cancellationToken);

            var store = new ConfigStore(context);
            store.Save(store.Load() with { Gateway = gateway.ToString(), Token = secret });
            var gpus = pool.Nodes.SelectMany(n => n.Gpus).ToList();
            var simulated = gpus.Count(g => g.Gpu.Simulated);
            context.Out.WriteLine($"Logged in to {gateway}: the pool has {gpus.Count} GPU(s) on {pool.Nodes.Count} node(s){(simulated > 0 ? $", {simulated} of them simulated" : "")}.");
            context.Out.WriteLine($"Saved to {store.Path} (readable only by you).");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string ReadToken(CliContext context, Uri gateway)
    {
        string? token;
        if (context.InputIsTerminal)
        {
            token = CliConsole.For(context.Error, terminal: true)
                .Prompt(new TextPrompt<string>($"Token for {Markup.Escape(gateway.ToString())}:").Secret());
        }
        else
        {
            token = context.In.ReadLine();
        }

        return string.IsNullOrWhiteSpace(token)
            ? throw new CliException(ExitCodes.Usage, "No token given. Pass --token, paste the ?token= URL 'make run' printed, or pipe the token to stdin.")
            : token.Trim();
    }
}
