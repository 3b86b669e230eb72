using Attach.Agent.Gpu;

namespace Attach.Agent.Tests.Gpu;

public sealed class SimulatedGpuInventoryTests
{
    private static SimulatedGpuInventory Create(string nodeId = "node-a", int count = 4) =>
        new(nodeId, new SimulatedGpuOptions { GpuCount = count, Model = "A100 80GB", MemoryMiB = 81920 }, "because");

    [Fact]
    public void Gpus_AnyConfiguration_AllMarkedSimulatedInEveryName()
    {
        var inventory = Create(count: 8);

        Assert.Equal(8, inventory.Gpus.Count);
        Assert.All(inventory.Gpus, gpu =>
        {
            Assert.True(gpu.Simulated);
            Assert.EndsWith("(simulated)", gpu.DisplayName, StringComparison.Ordinal);
            Assert.StartsWith("SIM-", gpu.Uuid, StringComparison.Ordinal);
            Assert.Equal(81920, gpu.MemoryTotalMiB);
        });
        Assert.Equal(Enumerable.Range(0, 8), inventory.Gpus.Select(gpu => gpu.Index));
    }

    [Fact]
    public void Backend_Always_SimulatedWithReason()
    {
        var backend = Create().Backend;

        Assert.Equal("simulated", backend.Name);
        Assert.True(backend.Simulated);
        Assert.Equal("because", backend.Reason);
    }

    [Fact]
    public void Gpus_SameNodeRecreated_SameUuids()
    {
        Assert.Equal(Create().Gpus.Select(gpu => gpu.Uuid), Create().Gpus.Select(gpu => gpu.Uuid));
    }

    [Fact]
    public void Gpus_DifferentNodes_DistinctUuids()
    {
        var uuids = Create("node-a").Gpus.Concat(Create("node-b").Gpus).Select(gpu => gpu.Uuid).ToList();

        Assert.Equal(uuids.Count, uuids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void UuidFor_Always_GuidShapedAfterPrefix()
    {
        var uuid = SimulatedGpuInventory.UuidFor("node-a", 0);

        Assert.Matches("^SIM-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", uuid);
        Assert.True(Guid.TryParse(uuid["SIM-".Length..], out _));
    }
}
