using Attach.Contracts.Pool;

namespace Attach.Agent.Gpu;

/// <summary>The latest reading of the node's GPUs.</summary>
/// <param name="Gpus">One reading per GPU, by index; empty before the first reading succeeds.</param>
/// <param name="ReadAt">When <paramref name="Gpus"/> was read; null before the first reading succeeds.</param>
/// <param name="Error">Why the most recent attempt failed; null when it succeeded. <paramref name="Gpus"/> is then older.</param>
internal sealed record GpuReadingSnapshot(IReadOnlyList<GpuReading> Gpus, DateTimeOffset? ReadAt, string? Error)
{
    /// <summary>Nothing read yet.</summary>
    public static GpuReadingSnapshot None { get; } = new([], null, null);
}
