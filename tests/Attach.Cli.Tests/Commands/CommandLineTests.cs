namespace Attach.Cli.Tests.Commands;

/// <summary>What a script sees: exit codes and messages for wrong command lines and missing setup, no gateway needed.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Help_ListsEveryCommandAndTheExitCodes()
    {
        var result = await _cli.RunAsync("--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var command in new[] { "login", "status", "pool", "release", "run", "kernelspec" })
        {
            Assert.Contains(command, result.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("2 not logged in", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("status", "--jsn")]
    [InlineData("release")]
    [InlineData("release", "--bogus")]
    [InlineData("release", "k-1", "--all")]
    [InlineData("run")]
    [InlineData("run", "--wait", "--no-wait", "--", "true")]
    [InlineData("run", "--mem", "20X", "--", "true")]
    [InlineData("run", "--mem", "0G", "--", "true")]
    [InlineData("run", "--session", "has space", "--", "true")]
    [InlineData("run", "--bogus", "true")]
    [InlineData("kernelspec", "install", "--user", "--prefix", "/tmp/x")]
    [InlineData("kernelspec", "install", "--name", "bad/name")]
    [InlineData("login")]
    public async Task WrongCommandLine_ExitsWithUsage(params string[] args)
    {
        var result = await _cli.RunAsync(args);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.NotEqual("", result.Stderr);
    }

    [Theory]
    [InlineData("status")]
    [InlineData("status", "--json")]
    [InlineData("pool")]
    [InlineData("release", "--all")]
    public async Task NotLoggedIn_Exits2_AndSaysHowToLogIn(params string[] args)
    {
        var result = await _cli.RunAsync(args);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("attach login <gateway-url>", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task GatewayNotListening_Exits3_AndNamesIt()
    {
        var port = Attach.Testing.Processes.FreePort.Next();
        _cli.Environment["ATTACH_GATEWAY"] = $"http://127.0.0.1:{port}/";
        _cli.Environment["ATTACH_TOKEN"] = "t";

        var result = await _cli.RunAsync("pool", "--json");

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains($"127.0.0.1:{port}", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("could not be reached", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginToNothing_Exits3_AndStoresNothing()
    {
        var port = Attach.Testing.Processes.FreePort.Next();
        _cli.Environment["XDG_CONFIG_HOME"] = Path.Combine(_cli.Home, "cfg");

        var result = await _cli.RunAsync("login", $"http://127.0.0.1:{port}/?token=abc");

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.False(File.Exists(Path.Combine(_cli.Home, "cfg", "attach", "config.json")));
    }

    [Fact]
    public async Task Run_WithoutAnyShim_Exits6_AndSaysHowToBuildIt()
    {
        // attach installed outside any checkout, with no ATTACH_SHIM, config or --shim.
        _cli.BaseDirectory = _cli.Home;

        var result = await _cli.RunAsync("run", "--", "true");

        Assert.True(result.ExitCode == 6, result.ToString());
        Assert.Contains("libattach.so was not found", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("make -C attach-agent/native", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_FindsTheShimNextToTheCommand()
    {
        _cli.BaseDirectory = _cli.Home;
        await File.WriteAllBytesAsync(Path.Combine(_cli.Home, "libattach.so"), []);

        var result = await _cli.RunAsync("run", "-q", "--", "true");

        Assert.True(result.ExitCode == 0, result.ToString());
    }
}
