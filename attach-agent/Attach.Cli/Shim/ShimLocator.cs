using Attach.Cli.Configuration;

namespace Attach.Cli.Shim;

/// <summary>
/// Finds libattach.so: <c>--shim</c>, then <c>ATTACH_SHIM</c>, then <c>shim</c> in config.json, then next to
/// the attach command (and in <c>../lib/</c> of it, for installed layouts), then
/// <c>attach-agent/native/build/</c> of the checkout the command was built in.
/// </summary>
internal static class ShimLocator
{
    public const string FileName = "libattach.so";
    public const string Variable = "ATTACH_SHIM";
    private static readonly string[] CheckoutPath = ["attach-agent", "native", "build", FileName];

    public static ShimLocation Locate(CliContext context, string? explicitPath, CliConfig config)
    {
        // Named by the user: used as given, even when it does not exist (yet); the caller warns.
        if (explicitPath is not null)
        {
            var full = Path.GetFullPath(explicitPath);
            return new ShimLocation(full, "--shim", File.Exists(full));
        }

        foreach (var (path, source) in Candidates(context, config))
        {
            if (File.Exists(path))
            {
                return new ShimLocation(Path.GetFullPath(path), source, true);
            }
        }

        throw new CliException(ExitCodes.SetupMissing,
            $"{FileName} was not found (looked at: {string.Join(", ", Candidates(context, config).Select(c => c.Path))}). " +
            $"Build it with 'make -C attach-agent/native', or point to it with --shim PATH or {Variable}.");
    }

    private static IEnumerable<(string Path, string Source)> Candidates(CliContext context, CliConfig config)
    {
        if (context.Variable(Variable) is { } fromEnvironment)
        {
            yield return (fromEnvironment, Variable);
        }

        if (config.Shim is { Length: > 0 } fromConfig)
        {
            yield return (fromConfig, "config.json");
        }

        yield return (Path.Combine(context.BaseDirectory, FileName), "next to attach");
        yield return (Path.GetFullPath(Path.Combine(context.BaseDirectory, "..", "lib", FileName)), "../lib next to attach");
        for (var dir = new DirectoryInfo(context.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Attach.sln")))
            {
                yield return (Path.Combine([dir.FullName, .. CheckoutPath]), "the checkout's native build");
                break;
            }
        }
    }
}
