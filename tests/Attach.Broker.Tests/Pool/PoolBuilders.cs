using Attach.Broker.Pool;
using Attach.Contracts.Pool;

namespace Attach.Broker.Tests.Pool;

/// <summary>Heartbeats, nodes and leases for pool tests.</summary>
internal static class PoolBuilders
{
    public const long GiB = 1024;

    public static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static GpuInfo Gpu(int index, long memoryGiB, string model = "A100 80GB") =>
        new(index, $"SIM-{index:D2}-{memoryGiB}", model, memoryGiB * GiB, Simulated: true);

    public static NodeHeartbeat Heartbeat(string nodeId, IReadOnlyList<GpuInfo> gpus, IReadOnlyList<BindingInfo>? bindings = null) =>
        new(nodeId, new Uri($"http://{nodeId}:7070/"), new GpuBackendInfo("simulated", true, "no NVIDIA device found"), gpus, bindings ?? []);

    public static RegisteredNode Node(string nodeId, params GpuInfo[] gpus) => new(Heartbeat(nodeId, gpus), Epoch);

    public static Lease Lease(string nodeId, GpuInfo gpu, long memoryMiB, int computePercent = 25, string owner = "alice", string? kernelId = null) => new()
    {
        LeaseId = $"lease-{Guid.NewGuid():N}",
        Epoch = 1,
        KernelId = kernelId ?? $"kernel-{Guid.NewGuid():N}",
        Owner = owner,
        NodeId = nodeId,
        AgentUrl = new Uri($"http://{nodeId}:7070/"),
        Gpu = gpu,
        MemoryMiB = memoryMiB,
        ComputePercent = computePercent,
        Since = Epoch,
        Status = LeaseStatus.Bound,
    };

    public static BindingInfo Binding(string leaseId, long epoch, GpuInfo gpu, long memoryMiB, int computePercent = 25, string kernelId = "kernel-orphan", string owner = "alice") =>
        new(leaseId, epoch, kernelId, gpu, memoryMiB, computePercent, new Dictionary<string, string>(), Epoch, owner);
}
