using Attach.Simulation.Workday;

namespace Attach.Simulation.Tests.Workday;

public sealed class WorkdayModelTests
{
    [Fact]
    public void CalibratedModel_DevelopersNeedAGpuLessThan30PercentOfTheDayOnAverage()
    {
        var need = Enumerable.Range(1, 5).SelectMany(seed => GpuNeed.Of(TraceGenerator.Generate(new WorkdayParameters(), seed))).ToList();

        Assert.Equal(250, need.Count);
        Assert.InRange(need.Average(n => n.HeldShare), 0.05, 0.30);
        Assert.All(need, n => Assert.True(n.BusyShare <= n.HeldShare, $"{n.Developer} runs GPU cells longer than it holds a GPU"));
    }

    [Fact]
    public void SameSeed_GivesTheSameDay_AnotherSeed_ADifferentOne()
    {
        var parameters = new WorkdayParameters();

        var first = TraceGenerator.Generate(parameters, 7);
        var again = TraceGenerator.Generate(parameters, 7);
        var other = TraceGenerator.Generate(parameters, 8);

        Assert.Equal(Flatten(first), Flatten(again));
        Assert.NotEqual(Flatten(first), Flatten(other));
    }

    [Fact]
    public void GpuNeed_HoldsFromTheGpuCellUntilTheIdleTimeout_AndRunsOnlyTheGpuCells()
    {
        var parameters = new WorkdayParameters { IdleTimeoutSeconds = 300 };
        var quarter = parameters.Profiles[0];
        // GPU cell at 10 s for 20 s; CPU cell 100 s later (idle timer restarts at its end, 131 s); the next cell comes
        // 400 s later, past the timeout: the slice went back at 131 + 300 = 431 s. Then a GPU cell of 50 s ends the session.
        var session = new NotebookSession(0, quarter, 1 << 30, [new Cell(10, true, 20), new Cell(100, false, 1), new Cell(400, true, 50)]);
        var trace = new WorkdayTrace(parameters, 0, [new DeveloperDay("ada", 0, [session])]);

        var need = Assert.Single(GpuNeed.Of(trace));

        var day = parameters.WorkdayHours * 3600;
        Assert.Equal((431 - 10 + 50) / day, need.HeldShare, 9);
        Assert.Equal(70 / day, need.BusyShare, 9);
    }

    [Fact]
    public void SessionsWithoutGpuCells_HoldNoDeviceMemory()
    {
        var trace = TraceGenerator.Generate(new WorkdayParameters(), 3);
        var sessions = trace.Developers.SelectMany(d => d.Sessions).ToList();

        Assert.Contains(sessions, s => !s.UsesGpu);
        Assert.All(sessions.Where(s => !s.UsesGpu), s => Assert.Equal(0, s.UsedMemoryBytes));
        Assert.All(sessions.Where(s => s.UsesGpu), s => Assert.InRange(s.UsedMemoryBytes, 1, s.Slice.MemoryMiB * 1024L * 1024L));
    }

    private static string Flatten(WorkdayTrace trace) => string.Join(
        ";",
        trace.Developers.SelectMany(d => d.Sessions.SelectMany(s => s.Cells.Select(c => $"{d.Developer}:{s.Slice.Name}:{c.ThinkSeconds:R}:{c.Gpu}:{c.DurationSeconds:R}"))));
}
