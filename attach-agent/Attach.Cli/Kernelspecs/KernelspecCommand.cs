using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Attach.Cli.Configuration;
using Attach.Cli.Run;
using Attach.Cli.Shim;

namespace Attach.Cli.Kernelspecs;

/// <summary>
/// <c>attach kernelspec install</c>: a Jupyter kernelspec whose <c>env</c> preloads libattach.so, so any
/// kernel started from it — by a Jupyter server, or by VS Code or PyCharm directly over ZMQ — asks for a
/// GPU when it first calls <c>cuInit</c>. The shim takes the session from the connection file's name
/// (<c>kernel-&lt;id&gt;.json</c>), so the spec sets no <c>ATTACH_SESSION</c>.
/// </summary>
internal static partial class KernelspecCommand
{
    public const string DefaultName = "attach-python3";
    public const string DefaultDisplayName = "Python 3 (attach GPU)";
    public const string DefaultPython = "/usr/bin/python3";

    public static Command Create(CliContext context)
    {
        var name = new Option<string>("--name") { Description = "The kernelspec's name (its folder)", DefaultValueFactory = _ => DefaultName };
        var displayName = new Option<string>("--display-name") { Description = "What kernel pickers show", DefaultValueFactory = _ => DefaultDisplayName };
        var python = new Option<string>("--python") { Description = "The interpreter that runs ipykernel", DefaultValueFactory = _ => DefaultPython, HelpName = "path" };
        var user = new Option<bool>("--user") { Description = "Install for you: $JUPYTER_DATA_DIR, else $XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter (the default)" };
        var sysPrefix = new Option<bool>("--sys-prefix") { Description = "Install into the interpreter's sys.prefix (a virtualenv or conda env)" };
        var prefix = new Option<string?>("--prefix") { Description = "Install into PREFIX/share/jupyter/kernels", HelpName = "PREFIX" };
        var shim = new Option<string?>("--shim") { Description = "Path of libattach.so to preload", HelpName = "path" };
        var socket = new Option<string?>("--socket") { Description = "The agent's shim socket, written into the spec as ATTACH_AGENT_SOCKET", HelpName = "path" };
        var install = new Command("install", "Write a kernelspec that loads the attach shim into every kernel started from it")
        {
            name, displayName, python, user, sysPrefix, prefix, shim, socket,
        };
        install.Validators.Add(result =>
        {
            if ((result.GetValue(user) ? 1 : 0) + (result.GetValue(sysPrefix) ? 1 : 0) + (result.GetValue(prefix) is null ? 0 : 1) > 1)
            {
                result.AddError("Choose one of --user, --sys-prefix and --prefix.");
            }

            if (result.GetValue(name) is { } n && !KernelName().IsMatch(n))
            {
                result.AddError($"--name {n}: use letters, digits, '.', '_' or '-' (Jupyter's rule for kernel names).");
            }
        });
        install.SetAction(CliAction.Run(context, async (parse, cancellationToken) =>
        {
            var config = new ConfigStore(context).Load();
            var located = ShimLocator.Locate(context, parse.GetValue(shim), config);
            if (!located.Exists)
            {
                await context.Error.WriteLineAsync($"attach: warning: {located.Path} does not exist yet; kernels from this spec run without the shim until it does.");
            }

            var interpreter = parse.GetRequiredValue(python);
            if (!File.Exists(interpreter))
            {
                await context.Error.WriteLineAsync($"attach: warning: {interpreter} does not exist on this machine; pass --python with the interpreter that has ipykernel.");
            }

            var kernels = parse.GetValue(prefix) is { } p ? Path.Combine(Path.GetFullPath(p), "share", "jupyter", "kernels")
                : parse.GetValue(sysPrefix) ? Path.Combine(await SysPrefixAsync(interpreter, cancellationToken), "share", "jupyter", "kernels")
                : Path.Combine(UserDataDirectory(context), "kernels");
            var folder = Path.Combine(kernels, parse.GetRequiredValue(name));
            // ATTACH_VERBOSE: a kernel's stderr is a pipe, where the shim is silent by default; ipykernel forwards
            // what the shim writes to fd 2 into the output of the cell that first touched CUDA.
            var env = new Dictionary<string, string>(StringComparer.Ordinal) { [RunEnvironment.Preload] = located.Path, [RunEnvironment.Verbose] = "1" };
            if ((parse.GetValue(socket) ?? config.AgentSocket) is { } agentSocket)
            {
                env[RunEnvironment.AgentSocket] = Path.GetFullPath(agentSocket);
            }

            var spec = new Kernelspec(
                [interpreter, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                parse.GetRequiredValue(displayName),
                "python",
                "signal",
                env,
                new Dictionary<string, object>(StringComparer.Ordinal)
                {
                    ["debugger"] = true,
                    ["attach"] = new Dictionary<string, string>(StringComparer.Ordinal) { ["shim"] = located.Path },
                });
            var existed = File.Exists(Path.Combine(folder, "kernel.json"));
            try
            {
                Directory.CreateDirectory(folder);
                await File.WriteAllTextAsync(Path.Combine(folder, "kernel.json"), JsonSerializer.Serialize(spec, CliJson.Options) + "\n", cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException(ExitCodes.LocalFileError, $"{folder} could not be written: {ex.Message}. Choose another place with --user or --prefix.", ex);
            }

            context.Out.WriteLine($"{(existed ? "Updated" : "Installed")} kernelspec {parse.GetValue(name)} in {folder}");
            context.Out.WriteLine($"Kernel pickers (Jupyter, VS Code, PyCharm) show it as \"{spec.DisplayName}\"; its kernels preload {located.Path}.");
            return ExitCodes.Ok;
        }));

        return new Command("kernelspec", "Jupyter kernelspecs that load the attach shim") { install };
    }

    /// <summary>jupyter_core's data directory on Linux and macOS-like systems.</summary>
    internal static string UserDataDirectory(CliContext context) =>
        context.Variable("JUPYTER_DATA_DIR")
        ?? (context.Variable("XDG_DATA_HOME") is { } xdg && Path.IsPathRooted(xdg)
            ? Path.Combine(xdg, "jupyter")
            : Path.Combine(context.HomeDirectory, ".local", "share", "jupyter"));

    private static async Task<string> SysPrefixAsync(string python, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(python, ["-c", "import sys; print(sys.prefix)"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            using var process = Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            return process.ExitCode == 0 && output.Trim() is { Length: > 0 } prefix
                ? prefix
                : throw new CliException(ExitCodes.SetupMissing, $"{python} could not tell its sys.prefix (exit code {process.ExitCode}). Pass --prefix instead.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new CliException(ExitCodes.SetupMissing, $"{python} could not be run ({ex.Message}). Pass --python with an interpreter that exists, or --prefix.", ex);
        }
    }

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,128}\z", RegexOptions.CultureInvariant)]
    private static partial Regex KernelName();
}
