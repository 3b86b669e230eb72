using System.Globalization;
using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Contracts.Kernels;
using Attach.ServiceDefaults.Security;

namespace Attach.Broker.Metrics;

/// <summary>
/// Sets the gauges that describe the pool now (queue, slices and memory per GPU, GPU-seconds) from the lease table,
/// the nodes and the kernels, each time Prometheus scrapes: nothing has to keep them current in between.
/// </summary>
internal sealed class PoolGauges(BrokerMetrics metrics, LeaseTable leases, NodeRegistry nodes, KernelRegistry kernels, TimeProvider timeProvider)
{
    private const long BytesPerMiB = 1024 * 1024;

    private readonly Lock _lock = new();
    private HashSet<(string Node, string Gpu, string Model)> _shown = [];

    public void Update()
    {
        lock (_lock)
        {
            metrics.QueueLength.Set(kernels.List(AttachClaims.ServiceUser).Count(k => k.Status.State == KernelState.Queued));

            var byGpu = leases.Snapshot().ToLookup(l => (l.NodeId, l.Gpu.Index));
            var shown = new HashSet<(string Node, string Gpu, string Model)>();
            foreach (var node in nodes.All())
            {
                foreach (var gpu in node.Heartbeat.Gpus)
                {
                    var labels = (Node: node.Heartbeat.NodeId, Gpu: gpu.Index.ToString(CultureInfo.InvariantCulture), Model: gpu.DisplayName);
                    var held = byGpu[(node.Heartbeat.NodeId, gpu.Index)].ToList();
                    metrics.SlicesAllocated.WithLabels(labels.Node, labels.Gpu, labels.Model).Set(held.Count);
                    metrics.GpuMemoryAllocated.WithLabels(labels.Node, labels.Gpu, labels.Model).Set(held.Sum(l => l.MemoryMiB) * BytesPerMiB);
                    metrics.GpuMemoryTotal.WithLabels(labels.Node, labels.Gpu, labels.Model).Set(gpu.MemoryTotalMiB * BytesPerMiB);
                    shown.Add(labels);
                }
            }

            // A GPU its node no longer reports disappears from the scrape instead of showing its last numbers forever.
            foreach (var gone in _shown.Except(shown))
            {
                metrics.SlicesAllocated.RemoveLabelled(gone.Node, gone.Gpu, gone.Model);
                metrics.GpuMemoryAllocated.RemoveLabelled(gone.Node, gone.Gpu, gone.Model);
                metrics.GpuMemoryTotal.RemoveLabelled(gone.Node, gone.Gpu, gone.Model);
            }

            _shown = shown;

            var time = metrics.GpuTime.Totals(timeProvider.GetUtcNow());
            metrics.GpuSecondsUsed.IncTo(time.Used);
            metrics.GpuSecondsOneGpuPerUser.IncTo(time.OneGpuPerUser);
            metrics.GpuSecondsSaved.Set(time.Saved);
        }
    }
}
