using Attach.Simulation.Consolidation;
using Attach.Simulation.Scheduling;
using Attach.Simulation.Workday;

namespace Attach.Simulation.Tests.Consolidation;

/// <summary>The simulation against the scheduler the benchmark measures (<see cref="Schedulers.Create"/>), on days small enough to work out by hand.</summary>
public sealed class ConsolidationSimulatorTests
{
    private static readonly WorkdayParameters Model = new() { IdleTimeoutSeconds = 300 };

    [Fact]
    public void OneGpuPerDeveloper_NeverWaits()
    {
        var day = TraceGenerator.Generate(new WorkdayParameters(), 1);

        var result = new ConsolidationSimulator(day, ConsolidationPolicy.OneGpuPerDeveloper, 4, Schedulers.Create).Run();

        Assert.Equal(day.Developers.Count, result.Gpus);
        Assert.NotEmpty(result.GpuCellWaits);
        Assert.All(result.GpuCellWaits, wait => Assert.Equal(0, wait));
        Assert.Equal(0, result.QueuedRequests);
    }

    [Fact]
    public void WholeGpuPooling_ASecondDeveloperWaitsUntilTheFirstSessionEnds()
    {
        // ada holds the only GPU from 10 s to 110 s (her session ends with that cell); bob asks at 50 s.
        var day = Day(Session("ada", new Cell(10, true, 100)), Session("bob", new Cell(50, true, 10)));

        var result = new ConsolidationSimulator(day, ConsolidationPolicy.WholeGpuPooling, 1, Schedulers.Create).Run();

        Assert.Equal([0, 60], result.GpuCellWaits.Order());
        Assert.Equal(1, result.QueuedRequests);
    }

    [Fact]
    public void Pooling_GivesTheSliceBackAfterTheIdleTimeout()
    {
        // ada's GPU cell ends at 20 s and her next cell is 500 s later: the slice goes back at 20 + 300 s; bob asks at 30 s.
        var day = Day(Session("ada", new Cell(10, true, 10), new Cell(500, false, 1)), Session("bob", new Cell(30, true, 5)));

        var result = new ConsolidationSimulator(day, ConsolidationPolicy.WholeGpuPooling, 1, Schedulers.Create).Run();

        Assert.Equal([0, 290], result.GpuCellWaits.Order());
    }

    [Fact]
    public void TwoQuarterSlices_ShareOneGpuWithoutWaiting()
    {
        var day = Day(Session("ada", new Cell(10, true, 100)), Session("bob", new Cell(50, true, 10)));

        var slices = new ConsolidationSimulator(day, ConsolidationPolicy.SlicePooling, 1, Schedulers.Create).Run();

        Assert.All(slices.GpuCellWaits, wait => Assert.Equal(0, wait));
    }

    [Fact]
    public void SuspendToHost_FreesTheSliceAtIdle_AndTheNextGpuCellPaysTheResume()
    {
        const long bytes = 8L << 30;
        var day = Day(Session("ada", bytes, new Cell(10, true, 10), new Cell(60, true, 10)), Session("bob", new Cell(25, true, 1000)));

        var result = new ConsolidationSimulator(day, ConsolidationPolicy.SlicePoolingWithSuspend, 1, Schedulers.Create).Run();

        // ada suspends at 20 s; bob's quarter slice fits beside hers anyway; ada's second cell resumes her 8 GiB.
        Assert.Equal(1, result.Suspends);
        Assert.Equal([0, 0, Model.ResumeSeconds(bytes)], result.GpuCellWaits.Order());
    }

    [Fact]
    public void SuspendToHost_ACellThatComesDuringTheSuspend_WaitsForItAndTheResume()
    {
        // Copying out takes 100 s here: ada's next GPU cell (at 30 s) waits for the suspend to end (at 20 + 100.2 s), then resumes.
        var slow = Model with { CheckpointGBps = 0.01 };
        const long bytes = 1_000_000_000;
        var day = Day(slow, Session("ada", bytes, new Cell(10, true, 10), new Cell(10, true, 10)));

        var result = new ConsolidationSimulator(day, ConsolidationPolicy.SlicePoolingWithSuspend, 1, Schedulers.Create).Run();

        Assert.Equal(2, result.GpuCellWaits.Count);
        Assert.Equal(0, result.GpuCellWaits[0]);
        Assert.Equal(20 + slow.SuspendSeconds(bytes) - 30 + slow.ResumeSeconds(bytes), result.GpuCellWaits[1], 6);
    }

    private static DeveloperDay Session(string developer, params Cell[] cells) => Session(developer, 1L << 30, cells);

    private static DeveloperDay Session(string developer, long usedBytes, params Cell[] cells) =>
        new(developer, 0, [new NotebookSession(0, Model.Profiles[0], usedBytes, cells)]);

    private static WorkdayTrace Day(params DeveloperDay[] developers) => Day(Model, developers);

    private static WorkdayTrace Day(WorkdayParameters model, params DeveloperDay[] developers) =>
        new(model with { Developers = developers.Length }, 0, developers);
}
