using Attach.Agent.Containers;
using Attach.Contracts.Pool;

namespace Attach.Agent.Tests.Containers;

public sealed class ContainerSpecTests
{
    private static readonly GpuInfo RealGpu = new(2, "GPU-5f0c3a1e-8d2b-4c7e-9a61-0b3d2e4f6a70", "A100 80GB", 81920, Simulated: false);
    private static readonly GpuInfo SimulatedGpu = new(0, "SIM-0000-a100", "A100 80GB", 81920, Simulated: true);

    private static BindingInfo Binding(GpuInfo gpu) =>
        new("lease/42", 7, "kernel-9", gpu, 20480, 25,
            new Dictionary<string, string>
            {
                ["CUDA_VISIBLE_DEVICES"] = gpu.Uuid,
                ["CUDA_DEVICE_MEMORY_LIMIT"] = "20480m",
                ["CUDA_DEVICE_SM_LIMIT"] = "25",
                ["ATTACH_LEASE_ID"] = "lease/42",
            },
            DateTimeOffset.UnixEpoch);

    [Fact]
    public void For_RealGpu_RequestsExactlyThatGpuFromTheNvidiaRuntimeByUuid()
    {
        var parameters = ContainerSpec.For(new ContainerRunRequest("lease/42", "img"), Binding(RealGpu), "node-a", "attach-x");

        var request = Assert.Single(parameters.HostConfig.DeviceRequests);
        Assert.Equal("nvidia", request.Driver);
        Assert.Equal([RealGpu.Uuid], request.DeviceIDs);
        Assert.Equal(["gpu"], Assert.Single(request.Capabilities));
        Assert.Equal("false", parameters.Labels[ContainerLabels.GpuSimulated]);
    }

    [Fact]
    public void For_MigSlice_RequestsItsMigInstanceByMigUuidNotTheWholeGpu()
    {
        const string Mig = "MIG-a686709d-6dc2-542a-8851-0d2508448c10";
        var binding = Binding(RealGpu) with { MigUuid = Mig };

        var parameters = ContainerSpec.For(new ContainerRunRequest("lease/42", "img"), binding, "node-a", "attach-x");

        Assert.Equal([Mig], Assert.Single(parameters.HostConfig.DeviceRequests).DeviceIDs);
    }

    [Fact]
    public void For_SimulatedGpu_HasNoDeviceRequestAndSaysSoInItsLabels()
    {
        var parameters = ContainerSpec.For(new ContainerRunRequest("lease/42", "img"), Binding(SimulatedGpu), "node-a", "attach-x");

        Assert.Null(parameters.HostConfig.DeviceRequests);
        Assert.Equal("true", parameters.Labels[ContainerLabels.GpuSimulated]);
        Assert.Equal(SimulatedGpu.Uuid, parameters.Labels[ContainerLabels.Gpu]);
    }

    [Fact]
    public void For_Request_CarriesLeaseLabelsBindingEnvironmentAndLimits()
    {
        var request = new ContainerRunRequest("lease/42", "attach-test/busybox:1", ["sh", "-c", "true"], MemoryMiB: 512, Cpus: 1.5,
            Env: new Dictionary<string, string> { ["MODE"] = "batch" });

        var parameters = ContainerSpec.For(request, Binding(RealGpu), "node-a", "attach-x");

        Assert.Equal("lease/42", parameters.Labels[ContainerLabels.Lease]);
        Assert.Equal("7", parameters.Labels[ContainerLabels.Epoch]);
        Assert.Equal("kernel-9", parameters.Labels[ContainerLabels.Kernel]);
        Assert.Equal("node-a", parameters.Labels[ContainerLabels.Node]);
        Assert.Contains("MODE=batch", parameters.Env);
        Assert.Contains($"CUDA_VISIBLE_DEVICES={RealGpu.Uuid}", parameters.Env);
        Assert.Contains("CUDA_DEVICE_MEMORY_LIMIT=20480m", parameters.Env);
        Assert.Contains("CUDA_DEVICE_SM_LIMIT=25", parameters.Env);
        Assert.Contains("ATTACH_LEASE_ID=lease/42", parameters.Env);
        Assert.Equal(512L * 1024 * 1024, parameters.HostConfig.Memory);
        Assert.Equal(1_500_000_000L, parameters.HostConfig.NanoCPUs);
        Assert.Equal(["sh", "-c", "true"], parameters.Cmd);
    }

    [Fact]
    public void For_NoLimitsNoCommand_LeavesTheImageDefaults()
    {
        var parameters = ContainerSpec.For(new ContainerRunRequest("lease/42", "img"), Binding(SimulatedGpu), "node-a", "attach-x");

        Assert.Equal(0, parameters.HostConfig.Memory);
        Assert.Equal(0, parameters.HostConfig.NanoCPUs);
        Assert.Null(parameters.Cmd);
    }

    [Fact]
    public void NameFor_LeaseWithOddCharacters_IsAValidUniqueDockerName()
    {
        var first = ContainerSpec.NameFor("lease/42 é:x");
        var second = ContainerSpec.NameFor("lease/42 é:x");

        Assert.Matches("^attach-lease-42---x-[0-9a-f]{12}$", first);
        Assert.NotEqual(first, second);
        Assert.True(ContainerSpec.NameFor(new string('a', 200)).Length <= 7 + 40 + 13);
    }
}
