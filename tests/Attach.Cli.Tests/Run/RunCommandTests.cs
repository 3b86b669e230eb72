namespace Attach.Cli.Tests.Run;

/// <summary><c>attach run</c> as a real process: the environment its command gets, and the exit code it passes on.</summary>
public sealed class RunCommandTests : IDisposable
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("attach-run-");

    public void Dispose() => _home.Delete(recursive: true);

    [Fact]
    public async Task Command_GetsTheShimAndAFreshSession()
    {
        var shim = Path.Combine(_home.FullName, "lib", "libattach.so");

        var first = await RunAsync("run", "--shim", shim, "--", "/bin/sh", "-c", "echo $ATTACH_SESSION; echo $LD_PRELOAD; echo \"mem=$ATTACH_MEMORY\"");
        var second = await RunAsync("run", "--shim", shim, "--", "/bin/sh", "-c", "echo $ATTACH_SESSION");

        Assert.True(first.ExitCode == 0, first.ToString());
        var lines = first.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Matches("^run-[0-9a-f]{32}$", lines[0]);
        Assert.Equal(shim, lines[1]);
        Assert.Equal("mem=", lines[2]);
        Assert.NotEqual(lines[0], second.Stdout.Trim());
        // The missing shim is said on stderr, never mixed into the command's stdout.
        Assert.Contains("does not exist", first.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_BecomeTheShimsVariables()
    {
        var result = await RunAsync("run", "--shim", "/nowhere/libattach.so", "--mem", "20G", "--no-wait", "--session", "train-7", "--socket", "/tmp/a.sock",
            "--", "/bin/sh", "-c", "echo $ATTACH_SESSION $ATTACH_MEMORY $ATTACH_WAIT $ATTACH_AGENT_SOCKET");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("train-7 20480 0 /tmp/a.sock", result.Stdout.Trim());
    }

    [Fact]
    public async Task Batch_AsksTheShimForTheBatchClass_AndWithoutItNothingIsSet()
    {
        var batch = await RunAsync("run", "--shim", "/nowhere/libattach.so", "--batch", "--", "/bin/sh", "-c", "echo \"class=$ATTACH_PRIORITY\"");
        var plain = await RunAsync("run", "--shim", "/nowhere/libattach.so", "--", "/bin/sh", "-c", "echo \"class=$ATTACH_PRIORITY\"");

        Assert.True(batch.ExitCode == 0, batch.ToString());
        Assert.Equal("class=batch", batch.Stdout.Trim());
        Assert.Equal("class=", plain.Stdout.Trim());
    }

    [Theory]
    [InlineData("exit 0", 0)]
    [InlineData("exit 3", 3)]
    [InlineData("exit 42", 42)]
    [InlineData("kill -TERM $$", 128 + 15)]
    public async Task ExitCode_IsTheCommands(string script, int expected)
    {
        var result = await RunAsync("run", "--shim", "/nowhere/libattach.so", "--", "/bin/sh", "-c", script);

        Assert.True(result.ExitCode == expected, result.ToString());
    }

    [Fact]
    public async Task CommandNotFound_Exits127()
    {
        var result = await RunAsync("run", "--shim", "/nowhere/libattach.so", "--", "/definitely/not/here");

        Assert.True(result.ExitCode == 127, result.ToString());
        Assert.Contains("could not be started", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StdinAndArguments_ReachTheCommandUntouched()
    {
        var result = await RunAsync("run", "--shim", "/nowhere/libattach.so", "--", "/bin/sh", "-c", "printf '%s|' \"$@\"", "sh", "-x", "--json", "a b");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("-x|--json|a b|", result.Stdout);
    }

    private Task<CliResult> RunAsync(params string[] args) =>
        AttachProcess.RunAsync(new Dictionary<string, string?> { ["XDG_CONFIG_HOME"] = Path.Combine(_home.FullName, "config") }, args);
}
