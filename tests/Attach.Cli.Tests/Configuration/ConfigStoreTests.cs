using Attach.Cli.Configuration;

namespace Attach.Cli.Tests.Configuration;

public sealed class ConfigStoreTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public void Save_WritesTheFileReadableOnlyByTheUser()
    {
        var store = new ConfigStore(Context());

        store.Save(new CliConfig("http://127.0.0.1:8000/", "secret-token"));

        var path = Path.Combine(_cli.Home, ".config", "attach", "config.json");
        Assert.Equal(path, store.Path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        Assert.Equal("secret-token", store.Load().Token);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void Save_OverAWorldReadableFile_LeavesIt0600()
    {
        var store = new ConfigStore(Context());
        Directory.CreateDirectory(Path.GetDirectoryName(store.Path)!);
        File.WriteAllText(store.Path, "{}");
        File.SetUnixFileMode(store.Path, (UnixFileMode)0b110_100_100);

        store.Save(new CliConfig("http://127.0.0.1:8000/", "t"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.Path));
    }

    [Fact]
    public void XdgConfigHome_IsWhereTheFileGoes()
    {
        _cli.Environment["XDG_CONFIG_HOME"] = Path.Combine(_cli.Home, "xdg");

        Assert.Equal(Path.Combine(_cli.Home, "xdg", "attach", "config.json"), new ConfigStore(Context()).Path);
    }

    [Fact]
    public void EnvironmentVariables_OverrideTheFile()
    {
        var store = new ConfigStore(Context());
        store.Save(new CliConfig("http://file-gateway:8000/", "file-token"));
        _cli.Environment["ATTACH_GATEWAY"] = "http://env-gateway:9000";
        _cli.Environment["ATTACH_TOKEN"] = "env-token";

        var login = new ConfigStore(Context()).RequireLogin();

        Assert.Equal(new Uri("http://env-gateway:9000/"), login.Gateway);
        Assert.Equal("env-token", login.Token);
        Assert.Equal("ATTACH_GATEWAY and ATTACH_TOKEN", login.Source);
    }

    [Fact]
    public void TokenFromEnvironment_GatewayFromTheFile()
    {
        new ConfigStore(Context()).Save(new CliConfig("http://file-gateway:8000/", "file-token"));
        _cli.Environment["ATTACH_TOKEN"] = "env-token";

        var login = new ConfigStore(Context()).RequireLogin();

        Assert.Equal(new Uri("http://file-gateway:8000/"), login.Gateway);
        Assert.Equal("env-token", login.Token);
    }

    [Fact]
    public void NothingConfigured_IsNotLoggedIn()
    {
        var error = Assert.Throws<CliException>(() => new ConfigStore(Context()).RequireLogin());

        Assert.Equal(ExitCodes.NotLoggedIn, error.ExitCode);
    }

    [Fact]
    public void CorruptFile_SaysToDeleteIt()
    {
        var store = new ConfigStore(Context());
        Directory.CreateDirectory(Path.GetDirectoryName(store.Path)!);
        File.WriteAllText(store.Path, "{not json");

        var error = Assert.Throws<CliException>(() => store.RequireLogin());

        Assert.Equal(ExitCodes.LocalFileError, error.ExitCode);
        Assert.Contains(store.Path, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8000/?token=abc", "http://127.0.0.1:8000/", "abc")]
    [InlineData("http://127.0.0.1:8000", "http://127.0.0.1:8000/", null)]
    [InlineData("https://gpu.example.org/tree?token=x%2By", "https://gpu.example.org/", "x+y")]
    [InlineData("http://host:8000/lab/tree/a.ipynb", "http://host:8000/", null)]
    public void GatewayUrl_TakesWhatPeoplePaste(string text, string expectedBase, string? expectedToken)
    {
        Assert.True(GatewayUrl.TryParse(text, out var baseUrl, out var token));
        Assert.Equal(new Uri(expectedBase), baseUrl);
        Assert.Equal(expectedToken, token);
    }

    [Theory]
    [InlineData("127.0.0.1:8000")]
    [InlineData("ftp://host/")]
    [InlineData("not a url")]
    public void GatewayUrl_RefusesWhatIsNotHttp(string text) => Assert.False(GatewayUrl.TryParse(text, out _, out _));

    private CliContext Context() => new()
    {
        Out = TextWriter.Null,
        Error = TextWriter.Null,
        In = TextReader.Null,
        Environment = _cli.Environment,
        HomeDirectory = _cli.Home,
        BaseDirectory = _cli.Home,
    };
}
