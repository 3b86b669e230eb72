using Attach.Agent.Gpu;
using Attach.Agent.Slices;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Attach.Agent.Apis;

/// <summary>The node's GPUs: <c>/api/v1/gpus</c>.</summary>
internal static class GpusApi
{
    public static RouteGroupBuilder MapGpusApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/gpus").WithTags("Gpus");
        api.MapGet("/", ListGpus).WithName("ListGpus");
        return api;
    }

    internal static Ok<NodeGpusView> ListGpus(IGpuInventory inventory, SliceLedger ledger, GpuReadingMonitor monitor, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var bindings = ledger.Snapshot();
        var latest = monitor.Latest;
        var gpus = inventory.Gpus
            .Select(gpu =>
            {
                var onGpu = bindings.Where(binding => binding.Gpu.Index == gpu.Index).ToArray();
                var allocatedMiB = onGpu.Sum(binding => binding.MemoryMiB);
                var reading = latest.Gpus.FirstOrDefault(reading => string.Equals(reading.Uuid, gpu.Uuid, StringComparison.Ordinal));
                return new GpuAllocationView(gpu, allocatedMiB, gpu.MemoryTotalMiB - allocatedMiB, onGpu.Sum(binding => binding.ComputePercent), onGpu,
                    reading?.MemoryUsedMiB, reading?.UtilizationPercent, reading?.DriverVersion, reading?.Processes ?? [], reading?.Mig);
            })
            .ToArray();
        return TypedResults.Ok(new NodeGpusView(inventory.Backend, gpus, latest.ReadAt, latest.Error));
    }
}
