using System.Text.Json;

namespace Attach.Cli.Configuration;

/// <summary>
/// The user's <c>config.json</c>: <c>$XDG_CONFIG_HOME/attach/</c>, else <c>~/.config/attach/</c>. It holds
/// a token, so it is written with mode 0600 (and its folder 0700), atomically, and never printed.
/// <c>ATTACH_GATEWAY</c> and <c>ATTACH_TOKEN</c> override what it says.
/// </summary>
internal sealed class ConfigStore(CliContext context)
{
    public const string GatewayVariable = "ATTACH_GATEWAY";
    public const string TokenVariable = "ATTACH_TOKEN";

    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public string Path
    {
        get
        {
            var configHome = context.Variable("XDG_CONFIG_HOME") is { } xdg && System.IO.Path.IsPathRooted(xdg)
                ? xdg
                : System.IO.Path.Combine(context.HomeDirectory, ".config");
            return System.IO.Path.Combine(configHome, "attach", "config.json");
        }
    }

    public CliConfig Load()
    {
        var path = Path;
        try
        {
            if (!File.Exists(path))
            {
                return new CliConfig(null, null);
            }

            return JsonSerializer.Deserialize<CliConfig>(File.ReadAllText(path), CliJson.Options) ?? new CliConfig(null, null);
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.LocalFileError, $"{path} is not valid JSON ({ex.Message}). Delete it and run 'attach login <gateway-url>' again.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.LocalFileError, $"{path} could not be read: {ex.Message}", ex);
        }
    }

    public void Save(CliConfig config)
    {
        var path = Path;
        var folder = System.IO.Path.GetDirectoryName(path)!;
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(folder);
            }
            else
            {
                Directory.CreateDirectory(folder, OwnerOnlyFolder);
            }

            // Written under a temporary name created 0600 from the start, then renamed over the old
            // file: the token is never readable by others, not even for a moment, and a crash leaves
            // either the old file or the new one.
            var temporary = path + $".{Guid.NewGuid():N}.tmp";
            var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = OwnerOnlyFile;
            }

            using (var stream = new FileStream(temporary, options))
            {
                JsonSerializer.Serialize(stream, config, CliJson.Options);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.LocalFileError, $"{path} could not be written: {ex.Message}. Check that you own {folder}.", ex);
        }
    }

    /// <summary>The gateway and token to use: the environment first, then the file.</summary>
    public GatewayLogin RequireLogin()
    {
        var config = Load();
        var gateway = context.Variable(GatewayVariable) ?? config.Gateway;
        var token = context.Variable(TokenVariable) ?? config.Token;
        if (gateway is null || token is null)
        {
            throw new CliException(ExitCodes.NotLoggedIn,
                $"Not logged in. Run 'attach login <gateway-url>' with the URL 'make run' printed (or set {GatewayVariable} and {TokenVariable}).");
        }

        if (!GatewayUrl.TryParse(gateway, out var url, out _))
        {
            var source = context.Variable(GatewayVariable) is not null ? GatewayVariable : Path;
            throw new CliException(ExitCodes.Usage, $"The gateway URL '{gateway}' (from {source}) is not an http(s) URL. Run 'attach login <gateway-url>' again.");
        }

        var from = (context.Variable(GatewayVariable), context.Variable(TokenVariable)) switch
        {
            (null, null) => Path,
            ({ }, { }) => $"{GatewayVariable} and {TokenVariable}",
            ({ }, null) => $"{GatewayVariable} and {Path}",
            (null, { }) => $"{TokenVariable} and {Path}",
        };
        return new GatewayLogin(url!, token, from);
    }
}
