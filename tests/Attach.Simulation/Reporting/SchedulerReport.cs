using System.Globalization;
using System.Text;
using Attach.Simulation.Consolidation;
using Attach.Simulation.Detection;
using Attach.Simulation.Throughput;
using Attach.Simulation.Workday;

namespace Attach.Simulation.Reporting;

/// <summary>docs/benchmarks-scheduler.md, written whole by every run.</summary>
internal static class SchedulerReport
{
    public static string Render(IReadOnlyList<ThroughputResult> throughput, WorkdayParameters model, IReadOnlyList<int> seeds, IReadOnlyList<GpuNeed> need, IReadOnlyList<SweepPoint> sweep, DetectionScore detection)
    {
        ArgumentNullException.ThrowIfNull(throughput);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(need);
        ArgumentNullException.ThrowIfNull(sweep);
        ArgumentNullException.ThrowIfNull(detection);
        var text = new StringBuilder();
        text.AppendLine("# Scheduler benchmarks");
        text.AppendLine();
        Line(text, $"Written by `make bench` (`tests/Attach.Simulation`) on {Environment.ProcessorCount} cores ({Environment.OSVersion}, .NET {Environment.Version}).");
        Line(text, $"Scheduler measured: **{throughput[0].Scheduler}**, loaded in process (no broker, agent or network), on a fake clock.");
        text.AppendLine();

        text.AppendLine("## Throughput and memory");
        text.AppendLine();
        Line(text, $"{throughput[0].Gpus:N0} GPUs (nodes of 8 × 80 GiB) and {throughput[0].Kernels:N0} kernels of 200 users. All submit, then a random placed kernel releases (which lets waiters in) and submits again, over and over. One submit or one release is one decision; one thread, after a warm-up run. Contended: mixed 10/20/40/80 GiB slices, far more than fit, so most kernels wait and every release runs the queue (fair share across users). Uncontended: 8 GiB slices, exactly as many as fit, so nothing waits.");
        text.AppendLine();
        text.AppendLine("| scenario | placed at first | decisions | placements | seconds | decisions/s (target ≥ 50,000) | µs per submit | µs per release (with the waiters it places) | RSS (VmRSS) | peak RSS (VmHWM) | GC heap |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var t in throughput)
        {
            Line(text, $"| {t.Scenario} | {t.InitialPlaced:N0} | {t.Decisions:N0} | {t.Placements:N0} | {t.Seconds:0.00} | {t.DecisionsPerSecond:N0}: {(t.DecisionsPerSecond >= ThroughputResult.TargetDecisionsPerSecond ? "**met**" : "**not met**")} | {t.MicrosecondsPerSubmit:0.0} | {t.MicrosecondsPerRelease:0.0} | {Mb(t.RssBytes)} | {Mb(t.PeakRssBytes)} | {Mb(t.GcHeapBytes)} |");
        }

        text.AppendLine();
        var peak = throughput.Max(t => t.PeakRssBytes);
        Line(text, $"Memory target (RSS ≤ 300 MB): {(peak <= ThroughputResult.TargetRssBytes ? "**met**" : "**not met**")}, peak {Mb(peak)}. Throughput target (≥ 50,000 decisions/s): {(throughput.All(t => t.DecisionsPerSecond >= ThroughputResult.TargetDecisionsPerSecond) ? "**met** in both scenarios" : throughput.Any(t => t.DecisionsPerSecond >= ThroughputResult.TargetDecisionsPerSecond) ? "**met only uncontended**" : "**not met**")}. This machine runs other work at the same time; figures vary from run to run.");
        text.AppendLine();
        text.AppendLine("RSS is the whole benchmark process (runtime, JIT, the scheduler and the driver's own bookkeeping), read from `/proc/self/status` right after each run, before the simulation below.");
        text.AppendLine();

        text.AppendLine("## Consolidation: 50 developers, wait for a GPU against pool size");
        text.AppendLine();
        Line(text, $"A discrete-event simulation of the workday model in [consolidation.md](consolidation.md) ({model.Developers} developers, {seeds.Count} simulated days, seeds {string.Join(", ", seeds)}), replayed against the scheduler on a fake clock (`FakeTimeProvider`). Each policy sees the same days.");
        var held = need.Select(n => n.HeldShare).Order().ToList();
        var busy = need.Select(n => n.BusyShare).Order().ToList();
        Line(text, $"GPU need per developer, no contention (share of an {model.WorkdayHours:0}-hour day): held under the {model.IdleTimeoutSeconds / 60:0}-minute idle policy mean {held.Average():P1}, p90 {Percentiles.OfSorted(held, 90):P1}, max {held[^1]:P1}; GPU cells running mean {busy.Average():P1}.");
        text.AppendLine("A GPU cell's wait runs from the developer running it to it starting on a GPU: queueing, plus the resume from host memory for a suspended kernel; a cell whose kernel still holds its slice waits 0. Percentiles are over every GPU cell of every simulated day; since most GPU cells find their kernel's slice still held, the p99, the share waiting over 10 s and the p95 of attach requests alone (cells that had to ask the scheduler) show the tail.");
        text.AppendLine();
        text.AppendLine("![p50 and p95 wait against GPUs](images/consolidation.png)");
        text.AppendLine();
        text.AppendLine("| policy | GPUs | GPU cells | p50 s | p95 s | p99 s | max s | cells waiting > 10 s | attach requests | p95 s of attach requests | queued | suspends | GPU-hours held per day |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var p in sweep)
        {
            Line(text, $"| {p.Policy.Describe()} | {p.Gpus} | {p.GpuCells:N0} | {p.P50Seconds:0.00} | {p.P95Seconds:0.00} | {p.P99Seconds:0.0} | {p.MaxSeconds:0} | {p.ShareWaitingOver10Seconds:P1} | {p.AttachRequests:N0} | {p.AttachP95Seconds:0.00} | {p.QueuedRequests:N0} | {p.Suspends:N0} | {(p.Policy == ConsolidationPolicy.OneGpuPerDeveloper ? $"{p.Gpus * model.WorkdayHours:0} owned ({p.HeldGpuHoursPerDay:0.0} used by sessions)" : p.HeldGpuHoursPerDay.ToString("0.0", CultureInfo.InvariantCulture))} |");
        }

        text.AppendLine();
        text.AppendLine("Smallest pool with p95 ≤ 10 s, per policy:");
        text.AppendLine();
        foreach (var group in sweep.GroupBy(p => p.Policy))
        {
            var fits = group.Where(p => p.MeetsWaitTarget).OrderBy(p => p.Gpus).FirstOrDefault();
            Line(text, $"- {group.Key.Describe()}: {(fits is null ? $"none of {string.Join(", ", group.Select(p => p.Gpus))} GPUs" : $"{fits.Gpus} GPUs (p95 {fits.P95Seconds:0.00} s)")}");
        }

        text.AppendLine();
        var withinTarget = sweep.Where(p => p.Policy != ConsolidationPolicy.OneGpuPerDeveloper && p.Gpus <= 10 && p.MeetsWaitTarget)
            .GroupBy(p => p.Policy).Select(g => g.OrderBy(p => p.Gpus).First()).ToList();
        var strict = sweep.Where(p => p.Policy != ConsolidationPolicy.OneGpuPerDeveloper && p.Gpus <= 10 && p.AttachP95Seconds <= 10)
            .GroupBy(p => p.Policy).Select(g => g.OrderBy(p => p.Gpus).First()).ToList();
        text.AppendLine(withinTarget.Count == 0
            ? "**Target (50 developers on ≤ 10 GPUs, p95 wait ≤ 10 s): not met** in this model by any policy simulated."
            : string.Create(CultureInfo.InvariantCulture, $"**Target (50 developers on ≤ 10 GPUs, p95 wait ≤ 10 s): met in this model** by {string.Join(" and by ", withinTarget.Select(p => $"{p.Policy.Describe()} from {p.Gpus} GPUs"))}. This is a model, not a measurement of developers: the assumptions behind it are in consolidation.md, and the answer moves with them."));
        text.AppendLine();
        text.AppendLine(strict.Count == 0
            ? "Counting attach requests alone (p95 of the cells that had to ask for a slice ≤ 10 s), no policy meets it on ≤ 10 GPUs."
            : string.Create(CultureInfo.InvariantCulture, $"Counting attach requests alone (p95 of the cells that had to ask for a slice ≤ 10 s, resume included): {string.Join("; ", strict.Select(p => $"{p.Policy.Describe()} from {p.Gpus} GPUs"))}."));
        text.AppendLine();

        text.AppendLine("## Detection precision and recall");
        text.AppendLine();
        text.AppendLine("The broker's `GpuWorkDetector` with the rules it ships (`kernel-broker/Attach.Broker/detection-rules.json`) over the corpus of notebook cells in `tests/Attach.Broker.Tests/Detection/Corpus` (`gpu/` must attach before the cell runs, `cpu/` must not).");
        text.AppendLine();
        text.AppendLine("| cells | GPU cells attached | CPU cells attached | precision | recall |");
        text.AppendLine("|---:|---:|---:|---:|---:|");
        var gpuCells = detection.TruePositives + detection.FalseNegatives;
        var cpuCells = detection.TrueNegatives + detection.FalsePositives;
        Line(text, $"| {gpuCells + cpuCells} | {detection.TruePositives} of {gpuCells} | {detection.FalsePositives} of {cpuCells} | {detection.Precision:0.000} | {detection.Recall:0.000} |");
        text.AppendLine();
        if (detection.Misclassified.Count == 0)
        {
            text.AppendLine("Misclassified cells: none.");
        }
        else
        {
            text.AppendLine("Misclassified cells:");
            text.AppendLine();
            foreach (var m in detection.Misclassified)
            {
                Line(text, $"- `{m.Cell}`: {(m.NeedsGpu ? "needs a GPU, no rule matched" : $"CPU-only, rule `{m.Rule}` matched")}");
            }
        }

        text.AppendLine();
        text.AppendLine("A cell the rules miss still gets a GPU at run time: the process shim's `cuInit` request is authoritative; a miss costs that cell the attach-before-run.");
        return text.ToString();
    }

    private static string Mb(long bytes) => (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + " MB";

    private static void Line(StringBuilder text, FormattableString line) => text.AppendLine(line.ToString(CultureInfo.InvariantCulture));
}
