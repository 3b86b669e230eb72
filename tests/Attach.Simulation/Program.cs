using System.Globalization;
using Attach.Simulation.Consolidation;
using Attach.Simulation.Detection;
using Attach.Simulation.Reporting;
using Attach.Simulation.Scheduling;
using Attach.Simulation.Throughput;
using Attach.Simulation.Workday;

// make bench, the scheduler's part: throughput and memory with 1,000 GPUs and 10,000 kernels, the 50-developer
// consolidation simulation swept over pool sizes, and the detection rules' precision/recall over the corpus.
// Printed, and written to docs/benchmarks-scheduler.md and docs/images/consolidation.png.
// Arguments: [days] — simulated days per policy and pool size (default 5; seeds 1..days).
var days = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var root = RepositoryRoot.Find();

Console.Error.WriteLine("bench: scheduler throughput, 1,000 GPUs and 10,000 kernels…");
// A short run first so the measured ones time optimised code, not the JIT's first tiers.
ThroughputBenchmark.Run(Schedulers.Create, ThroughputBenchmark.Contended, decisions: 30_000, seed: 7);
List<ThroughputResult> throughput =
[
    ThroughputBenchmark.Run(Schedulers.Create, ThroughputBenchmark.Contended, decisions: 300_000, budget: TimeSpan.FromSeconds(20)),
    ThroughputBenchmark.Run(Schedulers.Create, ThroughputBenchmark.Uncontended, decisions: 300_000, budget: TimeSpan.FromSeconds(20)),
];
foreach (var run in throughput)
{
    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench: {run.Scenario}: {run.DecisionsPerSecond:N0} decisions/s, RSS {run.RssBytes / 1e6:0.0} MB (peak {run.PeakRssBytes / 1e6:0.0} MB), GC heap {run.GcHeapBytes / 1e6:0.0} MB"));
}

var model = new WorkdayParameters();
int[] seeds = [.. Enumerable.Range(1, days)];
var traces = seeds.Select(seed => TraceGenerator.Generate(model, seed)).ToList();
var need = traces.SelectMany(GpuNeed.Of).ToList();
Console.Error.WriteLine($"bench: consolidation, {model.Developers} developers × {days} days, pools of 2..20 GPUs…");
var sweep = ConsolidationSweep.Run(traces, Enumerable.Range(2, 19), Schedulers.Create, p =>
    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench:   {p.Policy.Describe(),-26} {p.Gpus,3} GPUs  p50 {p.P50Seconds,8:0.00} s  p95 {p.P95Seconds,9:0.00} s")));
var plot = Path.Combine(root, "docs", "images", "consolidation.png");
ConsolidationPlot.Save(sweep, model.Developers, plot);

var detection = DetectionBenchmark.Score(
    Path.Combine(root, "kernel-broker", "Attach.Broker", "detection-rules.json"),
    Path.Combine(root, "tests", "Attach.Broker.Tests", "Detection", "Corpus"));

var report = SchedulerReport.Render(throughput, model, seeds, need, sweep, detection);
Console.WriteLine(report);
var path = Path.Combine(root, "docs", "benchmarks-scheduler.md");
await File.WriteAllTextAsync(path, report);
Console.Error.WriteLine($"bench: written to {path} and {plot}");
