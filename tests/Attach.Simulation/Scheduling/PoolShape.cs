namespace Attach.Simulation.Scheduling;

/// <summary>The pool a scheduler is built over: <paramref name="GpuCount"/> identical GPUs in nodes of up to <paramref name="GpusPerNode"/>.</summary>
internal sealed record PoolShape(int GpuCount, long GpuMemoryMiB, int GpusPerNode = 8)
{
    /// <summary>Each node's name and GPU count (the last node holds what is left).</summary>
    public IEnumerable<(string NodeId, int Gpus)> Nodes()
    {
        for (var i = 0; i * GpusPerNode < GpuCount; i++)
        {
            yield return ($"node{i:D3}", Math.Min(GpusPerNode, GpuCount - (i * GpusPerNode)));
        }
    }
}
