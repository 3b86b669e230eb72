namespace Attach.Simulation.Workday;

/// <summary>
/// One notebook session (one kernel): the gap before it opens, the slice its GPU cells need, the device memory it
/// holds (what a suspend copies to the host), and its cells in order.
/// </summary>
internal sealed record NotebookSession(double GapBeforeSeconds, SliceProfile Slice, long UsedMemoryBytes, IReadOnlyList<Cell> Cells)
{
    public bool UsesGpu => Cells.Any(c => c.Gpu);
}
