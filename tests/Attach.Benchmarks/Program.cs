using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attach.Benchmarks;
using Attach.Testing;
using Attach.Testing.Jupyter;
using Attach.Testing.Processes;

// make bench: how much a cell's round trip costs through the gateway, next to the same cell sent straight to
// the Jupyter Server, and what a GPU cell's hold adds. Real processes on 127.0.0.1 (the embedded default with
// a simulated pool); numbers are this machine's, printed and written to docs/benchmarks.md.
// `echo PORT`: this program is also the echo kernel backend of the many-clients part (run as its own process).
if (args is ["echo", var echoPort])
{
    await EchoKernelBackend.RunAsync(int.Parse(echoPort, CultureInfo.InvariantCulture));
    return;
}

// 500 clients' continuations must not wait for the thread pool's slow growth.
ThreadPool.SetMinThreads(256, 256);
var cells = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;

// ATTACH_BENCH_CLIENTS (e.g. "1"): only the many-clients part, for those client counts, printed and not written.
if (Environment.GetEnvironmentVariable("ATTACH_BENCH_CLIENTS") is { Length: > 0 })
{
    Console.WriteLine(ConcurrencyBenchmark.Render(await ConcurrencyBenchmark.RunAsync()));
    return;
}

var rows = await MeasureJupyterAsync(cells);

var load = await ConcurrencyBenchmark.RunAsync();
var report = Render(rows, cells) + Environment.NewLine + ConcurrencyBenchmark.Render(load);
Console.WriteLine(report);
var path = Path.Combine(RepositoryPaths.Root, "docs", "benchmarks.md");
await File.WriteAllTextAsync(path, report);
Console.Error.WriteLine($"bench: written to {path}");

static async Task<List<Row>> MeasureJupyterAsync(int cells)
{
    var rows = new List<Row>();
    await using var deployment = new EmbeddedDeployment { IdleTimeout = TimeSpan.FromMinutes(30) };
    Console.Error.WriteLine("bench: starting Jupyter Server, broker, agent and gateway…");
    await deployment.StartAsync();

    foreach (var protocol in new string?[] { null, KernelChannelClient.V1 })
    {
        var name = protocol is null ? "legacy" : "v1";
        var kernel = await deployment.StartKernelAsync();
        rows.Add(await MeasureAsync($"CPU cell, direct to Jupyter ({name})", deployment.JupyterUrl, deployment.JupyterToken, kernel, protocol, "x = 6 * 7", cells));
        rows.Add(await MeasureAsync($"CPU cell, through the gateway ({name})", deployment.GatewayUrl, deployment.GatewayToken, kernel, protocol, "x = 6 * 7", cells));
        rows.Add(await MeasureAsync($"GPU cell, kernel already attached ({name})", deployment.GatewayUrl, deployment.GatewayToken, kernel, protocol, "device = 'cuda'", cells));
    }

    // First GPU cell of a kernel: the attach itself (a fresh kernel each time; the simulated pool binds in memory).
    var firsts = new List<double>();
    for (var i = 0; i < Math.Min(20, cells); i++)
    {
        var kernel = await deployment.StartKernelAsync();
        var row = await MeasureAsync("", deployment.GatewayUrl, deployment.GatewayToken, kernel, KernelChannelClient.V1, "device = 'cuda'", 1, warmUp: false);
        firsts.Add(row.Samples[0]);
        using var gateway = deployment.GatewayClient();
        (await gateway.PostAsync($"attach/api/v1/kernels/{kernel}/release", null)).Dispose();
    }

    rows.Add(new Row("GPU cell that attaches a slice (first GPU cell of a kernel, v1)", firsts));
    return rows;
}

static async Task<Row> MeasureAsync(string label, Uri server, string token, string kernelId, string? protocol, string code, int count, bool warmUp = true)
{
    await using var client = await KernelChannelClient.ConnectAsync(server, kernelId, token, protocol, CancellationToken.None);
    if (warmUp)
    {
        for (var i = 0; i < 5; i++)
        {
            await client.CollectUntilDoneAsync(await client.SendExecuteRequestAsync(code, CancellationToken.None), TimeSpan.FromSeconds(60));
        }
    }

    var samples = new List<double>(count);
    for (var i = 0; i < count; i++)
    {
        var started = Stopwatch.GetTimestamp();
        await client.CollectUntilDoneAsync(await client.SendExecuteRequestAsync(code, CancellationToken.None), TimeSpan.FromSeconds(60));
        samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    return new Row(label, samples);
}

static string Render(List<Row> rows, int cells)
{
    var text = new StringBuilder();
    text.AppendLine("# Benchmarks");
    text.AppendLine();
    text.AppendLine("The scheduler (throughput, memory, the 50-developer consolidation simulation) and detection precision/recall: [benchmarks-scheduler.md](benchmarks-scheduler.md).");
    text.AppendLine();
    text.AppendLine("## One cell at a time: the real Jupyter Server, direct and through the gateway");
    text.AppendLine();
    text.AppendLine(CultureInfo.InvariantCulture, $"Written by `make bench` on {Environment.ProcessorCount} cores ({Environment.OSVersion}). Each row: {cells} cells sent one after another on one kernel channel,");
    text.AppendLine("timed from sending the `execute_request` to receiving both its `execute_reply` and its idle `status`, as a notebook decides a cell is done.");
    text.AppendLine("\"Direct\" is the peer: the same kernel reached straight on the Jupyter Server (Debian's jupyter_server 1.23), no gateway.");
    text.AppendLine("The pool is the simulated one (4 × A100 80GB): an attach here costs the broker's decision and the agent's bookkeeping, not a driver.");
    text.AppendLine();
    text.AppendLine("| path | p50 ms | p90 ms | p99 ms | mean ms |");
    text.AppendLine("|---|---:|---:|---:|---:|");
    foreach (var row in rows)
    {
        text.AppendLine(CultureInfo.InvariantCulture, $"| {row.Label} | {row.Percentile(50):0.00} | {row.Percentile(90):0.00} | {row.Percentile(99):0.00} | {row.Samples.Average():0.00} |");
    }

    text.AppendLine();
    text.AppendLine("Added by the gateway (p50, same protocol): " + string.Join("; ", rows
        .Where(r => r.Label.StartsWith("CPU cell, through", StringComparison.Ordinal))
        .Select(r =>
        {
            var protocol = r.Label[r.Label.LastIndexOf('(')..];
            var direct = rows.Single(d => d.Label == $"CPU cell, direct to Jupyter {protocol}");
            return string.Create(CultureInfo.InvariantCulture, $"{protocol} {r.Percentile(50) - direct.Percentile(50):+0.00;-0.00} ms");
        })) + ".");
    return text.ToString();
}

internal sealed record Row(string Label, List<double> Samples)
{
    public double Percentile(int p)
    {
        var sorted = Samples.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
