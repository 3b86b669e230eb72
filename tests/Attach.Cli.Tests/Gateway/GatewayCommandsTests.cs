using System.Text.Json;
using Attach.Testing;
using Attach.Testing.Jupyter;
using Xunit.Abstractions;

namespace Attach.Cli.Tests.Gateway;

/// <summary>login, status, pool and release against a real gateway, in table and --json forms.</summary>
[Collection(DeploymentCollection.Name)]
public sealed class GatewayCommandsTests(DeploymentFixture fixture, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan CellTimeout = TimeSpan.FromSeconds(60);
    private readonly EmbeddedDeployment _deployment = fixture.Deployment;
    private readonly CliRunner _cli = new();

    public void Dispose()
    {
        _cli.Dispose();
        output.WriteLine(_deployment.AllOutput());
    }

    [Fact]
    public async Task Login_ChecksTheToken_AndStoresIt()
    {
        var result = await _cli.RunAsync("login", $"{_deployment.GatewayUrl}?token={_deployment.GatewayToken}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("4 GPU(s)", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("simulated", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(_deployment.GatewayToken, result.Stdout, StringComparison.Ordinal);
        var config = Path.Combine(_cli.Home, ".config", "attach", "config.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config));
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(config));
        Assert.Equal(_deployment.GatewayUrl.ToString(), json.RootElement.GetProperty("gateway").GetString());
        Assert.Equal(_deployment.GatewayToken, json.RootElement.GetProperty("token").GetString());

        // The stored login is what the next command uses.
        Assert.Equal(0, (await _cli.RunAsync("pool")).ExitCode);
    }

    [Fact]
    public async Task Login_TokenFromStdin()
    {
        _cli.Stdin = _deployment.GatewayToken + "\n";

        var result = await _cli.RunAsync("login", _deployment.GatewayUrl.ToString());

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Login_WrongToken_Exits2_AndStoresNothing()
    {
        var result = await _cli.RunAsync("login", _deployment.GatewayUrl.ToString(), "--token", "wrong");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("refused the token", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_cli.Home, ".config", "attach", "config.json")));
    }

    [Fact]
    public async Task WrongTokenInTheEnvironment_Exits2()
    {
        LogInThroughEnvironment();
        _cli.Environment["ATTACH_TOKEN"] = "wrong";

        var result = await _cli.RunAsync("status");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("ATTACH_TOKEN", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pool_Table_ShowsEveryGpu_AndSaysTheyAreSimulated()
    {
        LogInThroughEnvironment();

        var result = await _cli.RunAsync("pool");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("test-node", result.Stdout, StringComparison.Ordinal);
        for (var i = 0; i < 4; i++)
        {
            Assert.Contains($"{i} A100 80GB (simulated)", result.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("/ 80 GiB", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("simulated GPUs, not real hardware", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pool_Json_HasStableFields()
    {
        LogInThroughEnvironment();

        var result = await _cli.RunAsync("pool", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var node = json.RootElement.GetProperty("nodes").EnumerateArray().Single();
        Assert.Equal("test-node", node.GetProperty("nodeId").GetString());
        Assert.True(node.GetProperty("backend").GetProperty("simulated").GetBoolean());
        var gpus = node.GetProperty("gpus").EnumerateArray().ToList();
        Assert.Equal(4, gpus.Count);
        Assert.All(gpus, g =>
        {
            Assert.True(g.GetProperty("simulated").GetBoolean());
            Assert.Equal("A100 80GB (simulated)", g.GetProperty("name").GetString());
            Assert.Equal(81920, g.GetProperty("memoryTotalMiB").GetInt64());
            Assert.True(g.TryGetProperty("memoryUsedMiB", out _));
            Assert.Equal(JsonValueKind.Array, g.GetProperty("holders").ValueKind);
        });
        Assert.Equal(4 * 81920, json.RootElement.GetProperty("memoryTotalMiB").GetInt64());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("queue").ValueKind);
    }

    [Fact]
    public async Task Status_UnknownKernel_Exits4()
    {
        LogInThroughEnvironment();

        var result = await _cli.RunAsync("status", "no-such-kernel");

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.Contains("attach status", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GpuCell_ShowsInStatusAndPool_AndReleaseGivesTheSliceBack()
    {
        LogInThroughEnvironment();
        var kernelId = await AttachWithAGpuCellAsync();

        // The gateway reports the kernel's idle status to the broker in its next batch of reports (every 20 ms), so
        // right after the cell the broker may still count it busy (no release time yet): ask until it shows one.
        var row = "";
        var asked = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            var table = await _cli.RunAsync("status");
            Assert.True(table.ExitCode == 0, table.ToString());
            row = table.Stdout.Split('\n').Single(l => l.Contains(kernelId, StringComparison.Ordinal));
        }
        while (!row.Contains("if idle", StringComparison.Ordinal) && asked.Elapsed < CellTimeout);

        Assert.Contains("Attached", row, StringComparison.Ordinal);
        Assert.Contains("A100 80GB (simulated) on test-node", row, StringComparison.Ordinal);
        Assert.Contains("20 GiB of 80 GiB", row, StringComparison.Ordinal);
        Assert.Contains("if idle", row, StringComparison.Ordinal);

        var json = await _cli.RunAsync("status", "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        using (var document = JsonDocument.Parse(json.Stdout))
        {
            var kernel = document.RootElement.GetProperty("kernels").EnumerateArray().Single(k => k.GetProperty("kernelId").GetString() == kernelId);
            Assert.Equal("Attached", kernel.GetProperty("state").GetString());
            Assert.Equal(20480, kernel.GetProperty("sliceMiB").GetInt64());
            Assert.True(kernel.GetProperty("gpu").GetProperty("simulated").GetBoolean());
            Assert.Equal("test-node", kernel.GetProperty("gpu").GetProperty("nodeId").GetString());
            Assert.Equal(JsonValueKind.String, kernel.GetProperty("releaseAt").ValueKind);
            Assert.Equal(JsonValueKind.String, kernel.GetProperty("since").ValueKind);
        }

        var pool = await _cli.RunAsync("pool");
        Assert.Contains(kernelId, pool.Stdout, StringComparison.Ordinal);
        Assert.Contains("20 GiB / 80 GiB", pool.Stdout, StringComparison.Ordinal);

        var release = await _cli.RunAsync("release", kernelId);
        Assert.True(release.ExitCode == 0, release.ToString());
        Assert.Contains($"{kernelId}: released GPU", release.Stdout, StringComparison.Ordinal);

        var after = await _cli.RunAsync("status", kernelId, "--json");
        using (var document = JsonDocument.Parse(after.Stdout))
        {
            var kernel = document.RootElement.GetProperty("kernels").EnumerateArray().Single();
            Assert.Equal("Detached", kernel.GetProperty("state").GetString());
            Assert.Equal(JsonValueKind.Null, kernel.GetProperty("gpu").ValueKind);
        }

        Assert.DoesNotContain(kernelId, (await _cli.RunAsync("pool")).Stdout, StringComparison.Ordinal);
        var again = await _cli.RunAsync("release", kernelId);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("nothing to release", again.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReleaseAll_ReleasesEveryAttachedKernel()
    {
        LogInThroughEnvironment();
        var first = await AttachWithAGpuCellAsync();
        var second = await AttachWithAGpuCellAsync();

        var result = await _cli.RunAsync("release", "--all");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"{first}: released", result.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{second}: released", result.Stdout, StringComparison.Ordinal);
        using var json = JsonDocument.Parse((await _cli.RunAsync("pool", "--json")).Stdout);
        Assert.All(json.RootElement.GetProperty("nodes")[0].GetProperty("gpus").EnumerateArray(), g => Assert.Equal(0, g.GetProperty("memoryUsedMiB").GetInt64()));
    }

    [Fact]
    public async Task Run_LoggedIn_FollowsTheSessionOnTheHub_WithoutTouchingStdout()
    {
        var result = await AttachProcess.RunAsync(
            new Dictionary<string, string?>
            {
                ["XDG_CONFIG_HOME"] = Path.Combine(_cli.Home, "config"),
                ["ATTACH_GATEWAY"] = _deployment.GatewayUrl.ToString(),
                ["ATTACH_TOKEN"] = _deployment.GatewayToken,
            },
            "run", "--shim", "/nowhere/libattach.so", "--session", "cli-hub-check", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 5");

        Assert.True(result.ExitCode == 5, result.ToString());
        Assert.Equal("out\n", result.Stdout);
        Assert.Contains("err", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("live GPU state not shown", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_HubUnreachable_SaysSoOnStderr_AndStillRuns()
    {
        var result = await AttachProcess.RunAsync(
            new Dictionary<string, string?>
            {
                ["XDG_CONFIG_HOME"] = Path.Combine(_cli.Home, "config"),
                ["ATTACH_GATEWAY"] = $"http://127.0.0.1:{Attach.Testing.Processes.FreePort.Next()}/",
                ["ATTACH_TOKEN"] = "t",
            },
            "run", "--shim", "/nowhere/libattach.so", "--", "/bin/sh", "-c", "echo out");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("out\n", result.Stdout);
        Assert.Contains("live GPU state not shown", result.Stderr, StringComparison.Ordinal);
    }

    private void LogInThroughEnvironment()
    {
        _cli.Environment["ATTACH_GATEWAY"] = _deployment.GatewayUrl.ToString();
        _cli.Environment["ATTACH_TOKEN"] = _deployment.GatewayToken;
    }

    private async Task<string> AttachWithAGpuCellAsync()
    {
        var kernelId = await _deployment.StartKernelAsync();
        await using var kernel = await KernelChannelClient.ConnectAsync(_deployment.GatewayUrl, kernelId, _deployment.GatewayToken, KernelChannelClient.V1, CancellationToken.None);
        var msgId = await kernel.SendExecuteRequestAsync("device = \"cuda\"", CancellationToken.None);
        var messages = await kernel.CollectUntilDoneAsync(msgId, CellTimeout);
        Assert.Contains(messages, m => m.Text?.StartsWith("attach: GPU ", StringComparison.Ordinal) == true);
        return kernelId;
    }
}
