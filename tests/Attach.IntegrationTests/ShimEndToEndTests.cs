using System.Diagnostics;
using System.Net.Http.Json;
using Attach.Contracts.Kernels;
using Attach.Testing;
using Attach.Testing.Processes;

namespace Attach.IntegrationTests;

/// <summary>
/// The process path end to end, every part real but the driver: a CUDA program under <c>libattach.so</c> reaches
/// <c>cuInit</c>; the shim asks the real agent over its socket, the agent asks the real broker, the broker places a
/// (simulated) slice and the agent binds it; the variables are set before the (fake) driver's cuInit runs; the
/// user sees the session attached through the gateway; the process exits and the slice goes back.
/// </summary>
[Collection(EmbeddedDeploymentCollection.Name)]
public sealed class ShimEndToEndTests(EmbeddedDeploymentFixture fixture)
{
    private static readonly string Native = Path.Combine(RepositoryPaths.Root, "attach-agent", "native");
    private readonly EmbeddedDeployment _deployment = fixture.Deployment;

    [Fact]
    public async Task CudaProgramUnderTheShim_GetsItsSliceFromTheRealAgentBeforeCuInit_AndGivesItBackOnExit()
    {
        await RunAsync("make", ["-s", "-C", Native, "all", "fixtures"]);
        var session = $"e2e-{Guid.NewGuid():N}"[..20];
        var record = Path.Combine(_deployment.NotebookDirectory, $"{session}.cuda");
        using var gateway = _deployment.GatewayClient();
        // What `attach run` does first: the session becomes the user's, so they see it.
        (await gateway.PutAsync($"attach/api/v1/kernels/{session}", null)).EnsureSuccessStatusCode();

        var info = new ProcessStartInfo(Path.Combine(Native, "build", "tests", "prog_direct"), ["once"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["LD_PRELOAD"] = Path.Combine(Native, "build", "libattach.so");
        info.Environment["LD_LIBRARY_PATH"] = Path.Combine(Native, "build", "tests");
        info.Environment["FAKE_CUDA_RECORD"] = record;
        info.Environment["ATTACH_AGENT_SOCKET"] = _deployment.AgentSocket;
        info.Environment["ATTACH_SESSION"] = session;
        using var program = Process.Start(info)!;
        var stdout = program.StandardOutput.ReadToEndAsync();
        var stderr = program.StandardError.ReadToEndAsync();
        try
        {
            await program.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            if (!program.HasExited)
            {
                program.Kill(entireProcessTree: true);
            }
        }

        Assert.True(program.ExitCode == 0, $"exit {program.ExitCode}: {await stdout} {await stderr}");
        Assert.Contains("cuInit=0", await stdout, StringComparison.Ordinal);
        var line = Assert.Single(await File.ReadAllLinesAsync(record));
        var leaseId = line[(line.IndexOf("ATTACH_LEASE_ID=", StringComparison.Ordinal) + "ATTACH_LEASE_ID=".Length)..].Trim();
        Assert.StartsWith("lease-", leaseId, StringComparison.Ordinal);
        Assert.Matches("CUDA_VISIBLE_DEVICES=SIM-[0-9a-f-]+ ", line);
        Assert.Contains("CUDA_DEVICE_MEMORY_LIMIT=20480m", line, StringComparison.Ordinal);

        // The process has exited: its lease went back, and the session is the user's, detached.
        var status = await WaitForAsync(gateway, session, KernelState.Detached, TimeSpan.FromSeconds(30));
        Assert.Equal((KernelState.Detached, _deployment.User), (status.State, status.Owner));
        var pool = await gateway.GetStringAsync("attach/api/v1/pool");
        Assert.DoesNotContain(leaseId, pool, StringComparison.Ordinal);
        Assert.Contains(_deployment.AllOutput().Split('\n'), l => l.Contains($"Granted lease {leaseId}", StringComparison.Ordinal));
    }

    private static async Task<KernelStatus> WaitForAsync(HttpClient gateway, string session, KernelState state, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        KernelStatus? status = null;
        while (!cts.IsCancellationRequested)
        {
            status = await gateway.GetFromJsonAsync<KernelStatus>($"attach/api/v1/kernels/{session}");
            if (status!.State == state)
            {
                return status;
            }

            await Task.Delay(100, CancellationToken.None);
        }

        return status!;
    }

    private static async Task RunAsync(string file, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, UseShellExecute = false })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} failed: {error}");
    }
}
