using Attach.Broker.Pool;
using Attach.Contracts.Pool;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Pool;

public sealed class SlicePlacerTests
{
    private static readonly SliceRequest TwentyGiB = new(20 * GiB, 25);

    [Fact]
    public void Place_BestFit_ChoosesTheGpuLeftWithTheLeastFreeMemory()
    {
        var nodes = new[] { Node("node-a", Gpu(0, 80), Gpu(1, 40), Gpu(2, 24)) };

        var placement = SlicePlacer.Place(nodes, [], TwentyGiB);

        Assert.Null(placement.Failure);
        Assert.Equal(2, placement.Gpu!.Index);
        Assert.Equal("node-a", placement.Node!.Heartbeat.NodeId);
    }

    [Fact]
    public void Place_BestFit_CountsSlicesAlreadyOnEachGpu()
    {
        var big = Gpu(0, 80);
        var small = Gpu(1, 40);
        var nodes = new[] { Node("node-a", big, small) };
        // 80 GiB with 50 taken leaves 30 free; the empty 40 GiB GPU leaves more after the slice.
        var leases = new[] { Lease("node-a", big, 50 * GiB) };

        var placement = SlicePlacer.Place(nodes, leases, TwentyGiB);

        Assert.Equal(0, placement.Gpu!.Index);
    }

    [Fact]
    public void Place_LargeRequest_StaysPossibleBecauseSmallSlicesFillSmallHoles()
    {
        var nodes = new[] { Node("node-a", Gpu(0, 80), Gpu(1, 24)) };
        var leases = new List<Lease>();

        foreach (var _ in Enumerable.Range(0, 2))
        {
            var small = SlicePlacer.Place(nodes, leases, new SliceRequest(10 * GiB, 10));
            leases.Add(Lease("node-a", small.Gpu!, 10 * GiB, 10));
        }

        var large = SlicePlacer.Place(nodes, leases, new SliceRequest(80 * GiB, 100));
        Assert.Null(large.Failure);
        Assert.Equal(0, large.Gpu!.Index);
    }

    [Fact]
    public void Place_TieOnFreeMemory_PrefersTheGpuAlreadyShared()
    {
        var shared = Gpu(1, 80);
        // GPU 0 (empty, 40 GiB) and GPU 1 (80 GiB, 40 taken) both leave 20 GiB after a 20 GiB slice.
        var nodes = new[] { Node("node-a", Gpu(0, 40), shared) };
        var leases = new[] { Lease("node-a", shared, 40 * GiB) };

        var placement = SlicePlacer.Place(nodes, leases, TwentyGiB);

        Assert.Equal(1, placement.Gpu!.Index);
    }

    [Fact]
    public void Place_TieBetweenSharedGpus_TakesTheFirstNodeThenTheFirstGpu()
    {
        var a0 = Gpu(0, 80);
        var a1 = Gpu(1, 80);
        var b0 = Gpu(0, 80);
        var nodes = new[] { Node("node-a", a0, a1), Node("node-b", b0) };
        var leases = new[] { Lease("node-a", a0, 10 * GiB), Lease("node-a", a1, 10 * GiB), Lease("node-b", b0, 10 * GiB) };

        var placement = SlicePlacer.Place(nodes, leases, TwentyGiB);

        Assert.Equal(("node-a", 0), (placement.Node!.Heartbeat.NodeId, placement.Gpu!.Index));
    }

    [Fact]
    public void Place_TieBetweenEmptyGpus_TakesTheLowestIndexWhateverTheAgentsOrder()
    {
        var nodes = new[] { Node("node-a", Gpu(1, 80), Gpu(0, 80)) };

        var placement = SlicePlacer.Place(nodes, [], TwentyGiB);

        Assert.Equal(0, placement.Gpu!.Index);
    }

    [Fact]
    public void Place_GpuWithNoComputeLeft_IsSkippedEvenWithMemoryFree()
    {
        var busy = Gpu(0, 80);
        var nodes = new[] { Node("node-a", busy, Gpu(1, 80)) };
        var leases = new[] { Lease("node-a", busy, 10 * GiB, computePercent: 90) };

        var placement = SlicePlacer.Place(nodes, leases, TwentyGiB);

        Assert.Equal(1, placement.Gpu!.Index);
    }

    [Fact]
    public void Place_ExactFit_UsesTheWholeGpu()
    {
        var nodes = new[] { Node("node-a", Gpu(0, 80)) };

        var placement = SlicePlacer.Place(nodes, [], new SliceRequest(80 * GiB, 100));

        Assert.Null(placement.Failure);
    }

    [Fact]
    public void Place_NoNodes_SaysToCheckTheAgent()
    {
        var placement = SlicePlacer.Place([], [], TwentyGiB);

        Assert.Null(placement.Gpu);
        Assert.Contains("agent", placement.Failure, StringComparison.Ordinal);
        Assert.Contains("no GPU node is registered", placement.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Place_PoolFull_SaysWhatIsAskedAndTheLargestFreeSlice()
    {
        var a0 = Gpu(0, 80);
        var a1 = Gpu(1, 40);
        var nodes = new[] { Node("node-a", a0, a1) };
        var leases = new[] { Lease("node-a", a0, 72 * GiB), Lease("node-a", a1, 28 * GiB) };

        var placement = SlicePlacer.Place(nodes, leases, TwentyGiB);

        Assert.Null(placement.Gpu);
        Assert.Contains("20 GiB", placement.Failure, StringComparison.Ordinal);
        Assert.Contains("largest free: 12 GiB on 2 GPUs", placement.Failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(20 * 1024, "20 GiB")]
    [InlineData(1024, "1 GiB")]
    [InlineData(1536, "1536 MiB")]
    [InlineData(512, "512 MiB")]
    public void Format_ShowsWholeGibibytesAsGiB(long mib, string expected) =>
        Assert.Equal(expected, MemorySize.Format(mib));
}
