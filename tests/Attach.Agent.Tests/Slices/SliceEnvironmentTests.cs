using Attach.Agent.Slices;
using Attach.Contracts.Pool;

namespace Attach.Agent.Tests.Slices;

public sealed class SliceEnvironmentTests
{
    private static readonly GpuInfo Gpu = new(2, "SIM-00000000-0000-0000-0000-000000000002", "A100 80GB", 81920, Simulated: true);

    [Fact]
    public void For_WholeGpu_OnlyVisibleDeviceAndLease()
    {
        var environment = SliceEnvironment.For(Gpu, "lease-1", 81920, 100);

        Assert.Equal(
            new Dictionary<string, string>
            {
                ["ATTACH_LEASE_ID"] = "lease-1",
                ["CUDA_VISIBLE_DEVICES"] = Gpu.Uuid,
            },
            environment);
    }

    [Fact]
    public void For_MigInstance_NamesTheMigUuidInsteadOfTheGpuAndSetsNoHamiLimits()
    {
        // A 1g.10gb instance: its memory and multiprocessors are the hardware's to confine, not HAMi-core's.
        var environment = SliceEnvironment.For(Gpu, "lease-1", 9984, 100, "MIG-a686709d-6dc2-542a-8851-0d2508448c10");

        Assert.Equal(
            new Dictionary<string, string>
            {
                ["ATTACH_LEASE_ID"] = "lease-1",
                ["CUDA_VISIBLE_DEVICES"] = "MIG-a686709d-6dc2-542a-8851-0d2508448c10",
            },
            environment);
    }

    [Fact]
    public void For_MemorySlice_AddsHamiMemoryLimitInMebibytes()
    {
        var environment = SliceEnvironment.For(Gpu, "lease-1", 20480, 100);

        Assert.Equal("20480m", environment["CUDA_DEVICE_MEMORY_LIMIT"]);
        Assert.False(environment.ContainsKey("CUDA_DEVICE_SM_LIMIT"));
    }

    [Fact]
    public void For_ComputeSlice_AddsHamiSmLimitInPercent()
    {
        var environment = SliceEnvironment.For(Gpu, "lease-1", 81920, 30);

        Assert.Equal("30", environment["CUDA_DEVICE_SM_LIMIT"]);
        Assert.False(environment.ContainsKey("CUDA_DEVICE_MEMORY_LIMIT"));
    }
}
