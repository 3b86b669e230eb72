namespace Attach.Simulation.Workday;

/// <summary>
/// How much of the working day a developer of a trace needs a GPU, with no contention (nobody waits):
/// <see cref="HeldShare"/> counts from a GPU cell's start until the broker's idle timeout after the session's last
/// activity (what an execution-bound lease under the idle policy covers; the calibration target is below 30%);
/// <see cref="BusyShare"/> counts only GPU cells running.
/// </summary>
internal sealed record GpuNeed(string Developer, double HeldShare, double BusyShare)
{
    public static IReadOnlyList<GpuNeed> Of(WorkdayTrace trace)
    {
        ArgumentNullException.ThrowIfNull(trace);
        var day = trace.Parameters.WorkdayHours * 3600;
        var timeout = trace.Parameters.IdleTimeoutSeconds;
        var result = new List<GpuNeed>(trace.Developers.Count);
        foreach (var developer in trace.Developers)
        {
            double held = 0, busy = 0;
            foreach (var session in developer.Sessions)
            {
                var t = 0.0;
                var lastEnd = 0.0;
                double? heldSince = null;
                foreach (var cell in session.Cells)
                {
                    t += cell.ThinkSeconds;
                    if (heldSince is { } since && t - lastEnd >= timeout)
                    {
                        held += lastEnd + timeout - since;
                        heldSince = null;
                    }

                    if (cell.Gpu)
                    {
                        heldSince ??= t;
                        busy += cell.DurationSeconds;
                    }

                    t += cell.DurationSeconds;
                    lastEnd = t;
                }

                if (heldSince is { } open)
                {
                    // The session ends (its kernel shuts down) after its last cell: the lease goes with it.
                    held += lastEnd - open;
                }
            }

            result.Add(new GpuNeed(developer.Developer, held / day, busy / day));
        }

        return result;
    }
}
