using Attach.Simulation.Consolidation;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace Attach.Simulation.Reporting;

/// <summary>
/// docs/images/consolidation.png: p95 (solid) and p50 (dashed) wait of a GPU cell against pool size, one colour per
/// pooled policy, on a log scale (waits below 0.1 s are drawn at 0.1 s), with the 10 s / 10 GPU target marked.
/// Rendered with ScottPlot on SkiaSharp (no display needed).
/// </summary>
internal static class ConsolidationPlot
{
    private const double Floor = 0.1;

    public static void Save(IReadOnlyList<SweepPoint> points, int developers, string path)
    {
        ArgumentNullException.ThrowIfNull(points);
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var pooled = new[] { ConsolidationPolicy.WholeGpuPooling, ConsolidationPolicy.SlicePooling, ConsolidationPolicy.SlicePoolingWithSuspend };
        for (var i = 0; i < pooled.Length; i++)
        {
            var series = points.Where(p => p.Policy == pooled[i]).OrderBy(p => p.Gpus).ToList();
            double[] xs = [.. series.Select(p => (double)p.Gpus)];
            var p95 = plot.Add.Scatter(xs, [.. series.Select(p => Log(p.P95Seconds))]);
            p95.Color = palette.GetColor(i);
            p95.LineWidth = 2;
            p95.MarkerSize = 6;
            p95.LegendText = $"{pooled[i].Describe()}, p95";
            var p50 = plot.Add.Scatter(xs, [.. series.Select(p => Log(p.P50Seconds))]);
            p50.Color = palette.GetColor(i);
            p50.LineWidth = 1.5f;
            p50.MarkerSize = 4;
            p50.LinePattern = LinePattern.Dashed;
            p50.LegendText = $"{pooled[i].Describe()}, p50";
        }

        var target = plot.Add.HorizontalLine(Math.Log10(10));
        target.Color = Colors.Gray;
        target.LinePattern = LinePattern.Dotted;
        target.LegendText = "target: p95 ≤ 10 s on ≤ 10 GPUs";
        var tenGpus = plot.Add.VerticalLine(10);
        tenGpus.Color = Colors.Gray;
        tenGpus.LinePattern = LinePattern.Dotted;

        var baseline = points.FirstOrDefault(p => p.Policy == ConsolidationPolicy.OneGpuPerDeveloper);
        plot.Title(baseline is null
            ? $"Wait for a GPU, {developers} developers (simulated workday)"
            : $"Wait for a GPU, {developers} developers (simulated workday); one GPU per developer: {baseline.Gpus} GPUs, p95 {baseline.P95Seconds:0.#} s");
        plot.XLabel("GPUs in the pool");
        plot.YLabel("wait of a GPU cell (s, log scale)");
        plot.Axes.Left.TickGenerator = new NumericAutomatic
        {
            MinorTickGenerator = new LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => FormatSeconds(Math.Pow(10, y)),
        };
        plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };
        var maxY = points.Where(p => p.Policy != ConsolidationPolicy.OneGpuPerDeveloper).Select(p => Log(p.P95Seconds)).DefaultIfEmpty(1).Max();
        plot.Axes.SetLimitsY(Math.Log10(Floor) - 0.1, Math.Max(2, Math.Ceiling(maxY)) + 0.1);
        plot.ShowLegend(Alignment.UpperRight);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 1100, 650);
    }

    private static double Log(double seconds) => Math.Log10(Math.Max(seconds, Floor));

    private static string FormatSeconds(double seconds) => seconds switch
    {
        <= Floor * 1.001 => "≤0.1",
        < 1 => seconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture),
        < 3600 => seconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture),
        _ => (seconds / 3600).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " h",
    };
}
