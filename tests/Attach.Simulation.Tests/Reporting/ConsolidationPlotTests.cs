using Attach.Simulation.Consolidation;
using Attach.Simulation.Reporting;

namespace Attach.Simulation.Tests.Reporting;

public sealed class ConsolidationPlotTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("attach-plot-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Plot_IsDrawnHeadless_AsAPng()
    {
        var path = Path.Combine(_directory, "images", "consolidation.png");
        List<SweepPoint> points =
        [
            Point(ConsolidationPolicy.OneGpuPerDeveloper, 50, 0),
            .. new[] { ConsolidationPolicy.WholeGpuPooling, ConsolidationPolicy.SlicePooling, ConsolidationPolicy.SlicePoolingWithSuspend }
                .SelectMany(policy => new[] { Point(policy, 4, 900), Point(policy, 8, 12), Point(policy, 12, 0) }),
        ];

        ConsolidationPlot.Save(points, 50, path);

        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 10_000, $"the plot is only {bytes.Length} bytes");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
    }

    private static SweepPoint Point(ConsolidationPolicy policy, int gpus, double p95) =>
        new(policy, gpus, 100, p95 / 10, p95, p95, p95, 0, p95, 10, 0, 0, 1);
}
