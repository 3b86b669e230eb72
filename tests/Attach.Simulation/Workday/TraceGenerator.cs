namespace Attach.Simulation.Workday;

/// <summary>
/// Draws a day of the workday model. Deterministic: the same parameters and seed give the same trace
/// (<see cref="Random"/> with a seed uses a fixed algorithm).
/// </summary>
internal static class TraceGenerator
{
    public static WorkdayTrace Generate(WorkdayParameters parameters, int seed)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var random = new Random(seed);
        var developers = new List<DeveloperDay>(parameters.Developers);
        for (var d = 0; d < parameters.Developers; d++)
        {
            developers.Add(GenerateDeveloper(parameters, random, $"dev{d:D2}"));
        }

        return new WorkdayTrace(parameters, seed, developers);
    }

    private static DeveloperDay GenerateDeveloper(WorkdayParameters p, Random random, string name)
    {
        var start = (8.5 * 3600) + (random.NextDouble() * p.StartSpreadMinutes * 60);
        var dayEnd = start + (p.WorkdayHours * 3600);
        var sessions = new List<NotebookSession>();
        var t = start;
        while (true)
        {
            var gap = Exponential(random, p.MeanGapMinutes * 60);
            if (t + gap >= dayEnd)
            {
                break;
            }

            t += gap;
            var planned = LogNormal(random, p.SessionMedianMinutes * 60, p.SessionSigma);
            var session = GenerateSession(p, random, gap, planned);
            sessions.Add(session);
            t += session.Cells.Sum(c => c.ThinkSeconds + c.DurationSeconds);
        }

        return new DeveloperDay(name, start, sessions);
    }

    private static NotebookSession GenerateSession(WorkdayParameters p, Random random, double gap, double plannedSeconds)
    {
        var usesGpu = random.NextDouble() < p.GpuSessionShare;
        var slice = PickProfile(p.Profiles, random);
        var usedShare = p.UsedMemoryShareMin + (random.NextDouble() * (p.UsedMemoryShareMax - p.UsedMemoryShareMin));
        var usedBytes = (long)(slice.MemoryMiB * 1024L * 1024L * usedShare);
        var cells = new List<Cell>();
        var elapsed = 0.0;
        while (elapsed < plannedSeconds || cells.Count == 0)
        {
            var think = LogNormal(random, p.ThinkMedianSeconds, p.ThinkSigma);
            var gpu = usesGpu && random.NextDouble() < p.GpuCellShare;
            double duration;
            if (!gpu)
            {
                duration = LogNormal(random, p.CpuCellMedianSeconds, p.CpuCellSigma);
            }
            else if (random.NextDouble() < p.TrainingRunShare)
            {
                duration = LogNormal(random, p.TrainingMedianMinutes * 60, p.TrainingSigma);
            }
            else
            {
                duration = LogNormal(random, p.GpuBurstMedianSeconds, p.GpuBurstSigma);
            }

            cells.Add(new Cell(think, gpu, duration));
            elapsed += think + duration;
        }

        return new NotebookSession(gap, slice, cells.Any(c => c.Gpu) ? usedBytes : 0, cells);
    }

    private static SliceProfile PickProfile(IReadOnlyList<SliceProfile> profiles, Random random)
    {
        var total = profiles.Sum(x => x.Weight);
        var pick = random.NextDouble() * total;
        foreach (var profile in profiles)
        {
            pick -= profile.Weight;
            if (pick < 0)
            {
                return profile;
            }
        }

        return profiles[^1];
    }

    /// <summary>Log-normal with the given median (e^μ) and σ, by Box–Muller.</summary>
    internal static double LogNormal(Random random, double median, double sigma)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        var normal = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        return median * Math.Exp(sigma * normal);
    }

    internal static double Exponential(Random random, double mean) => -mean * Math.Log(1.0 - random.NextDouble());
}
