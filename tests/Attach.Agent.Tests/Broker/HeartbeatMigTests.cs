using Attach.Agent.Broker;
using Attach.Contracts.Pool;

namespace Attach.Agent.Tests.Broker;

/// <summary>The heartbeat carries the MIG layout of GPUs in MIG mode, so the broker can hand out their instances as fixed slices.</summary>
public sealed class HeartbeatMigTests
{
    private static GpuReading Reading(int index, GpuMigReading? mig) => new(index, $"GPU-{index}", false, 0, null, "550.54", [], mig);

    [Fact]
    public void MigLayouts_GpuInMigModeWithInstances_IsReportedWithThem()
    {
        MigInstanceReading[] instances = [new(0, 1, 0, 14, 10 * 1024, 0), new(1, 2, 0, 28, 20 * 1024, 512)];

        var layouts = BrokerHeartbeatService.MigLayouts([Reading(0, null), Reading(1, new GpuMigReading(true, instances))]);

        var layout = Assert.Single(layouts!);
        Assert.Equal(1, layout.GpuIndex);
        Assert.Equal(instances, layout.Instances);
    }

    [Fact]
    public void MigLayouts_NoGpuInMigMode_IsNull()
    {
        var layouts = BrokerHeartbeatService.MigLayouts([Reading(0, null), Reading(1, new GpuMigReading(false, [])), Reading(2, new GpuMigReading(true, []))]);

        Assert.Null(layouts);
    }
}
