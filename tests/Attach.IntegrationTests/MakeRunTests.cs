using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Attach.Testing.Processes;

namespace Attach.IntegrationTests;

/// <summary>
/// <c>make run</c> as a user meets it: it prints one URL with a token, that URL opens Jupyter through the
/// gateway, and Ctrl-C (SIGINT) stops every process it started, kernels included.
/// </summary>
public sealed partial class MakeRunTests
{
    [Fact]
    public async Task MakeRun_PrintsAWorkingUrl_AndSigintStopsEverything()
    {
        var state = Directory.CreateTempSubdirectory("attach-run-").FullName;
        int[] ports = [FreePort.Next(), FreePort.Next(), FreePort.Next(), FreePort.Next()];
        var info = new ProcessStartInfo("bash", [Path.Combine(RepositoryPaths.Root, "eng", "run-embedded.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
        };
        info.Environment["ATTACH_STATE_DIR"] = state;
        info.Environment["ATTACH_CONFIGURATION"] = RepositoryPaths.Configuration;
        info.Environment["ATTACH_PORT"] = ports[0].ToString();
        info.Environment["ATTACH_BROKER_PORT"] = ports[1].ToString();
        info.Environment["ATTACH_AGENT_PORT"] = ports[2].ToString();
        info.Environment["ATTACH_JUPYTER_PORT"] = ports[3].ToString();
        info.Environment["ATTACH_AGENT_SOCKET"] = Path.Combine(state, "agent.sock");
        using var run = Process.Start(info)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        run.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            output.Enqueue(e.Data);
            if (OpenLine().Match(e.Data) is { Success: true } match)
            {
                url.TrySetResult(match.Groups[1].Value);
            }
        };
        run.ErrorDataReceived += (_, e) => { if (e.Data is not null) { output.Enqueue(e.Data); } };
        run.BeginOutputReadLine();
        run.BeginErrorReadLine();
        try
        {
            var printed = await url.Task.WaitAsync(TimeSpan.FromMinutes(4));
            Assert.StartsWith($"http://127.0.0.1:{ports[0]}/?token=", printed, StringComparison.Ordinal);
            Assert.Contains(output, line => line.Contains("(simulated)", StringComparison.Ordinal));

            using var handler = new HttpClientHandler { UseCookies = true };
            using var browser = new HttpClient(handler);
            browser.DefaultRequestHeaders.Accept.ParseAdd("text/html");
            using var page = await browser.GetAsync(printed);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("<title>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            var children = ChildrenOf(run.Id);
            Assert.NotEmpty(children);

            Assert.Equal(0, Kill("INT", run.Id));
            await run.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Contains(output, line => line.Contains("attach: stopped.", StringComparison.Ordinal));
            Assert.All(children, pid => Assert.False(IsAlive(pid), $"process {pid} still runs after Ctrl-C:\n{string.Join('\n', output)}"));
        }
        finally
        {
            if (!run.HasExited)
            {
                Kill("TERM", run.Id);
                await run.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }

            Directory.Delete(state, recursive: true);
        }
    }

    /// <summary>Every process started (directly or not) by the script: its services live in their own sessions, so walk /proc.</summary>
    private static List<int> ChildrenOf(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && File.Exists(Path.Combine(dir, "stat")))
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    parents[pid] = int.Parse(fields[1]);
                }
                catch (IOException)
                {
                    // Gone meanwhile.
                }
            }
        }

        var found = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var (pid, ppid) in parents)
            {
                if (ppid == parent)
                {
                    found.Add(pid);
                    frontier.Enqueue(pid);
                }
            }
        }

        return found;
    }

    private static bool IsAlive(int pid) =>
        File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);

    private static int Kill(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString()]);
        kill.WaitForExit();
        return kill.ExitCode;
    }

    [GeneratedRegex(@"Open:\s+(http://\S+)")]
    private static partial Regex OpenLine();
}
