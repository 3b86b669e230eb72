namespace Attach.Simulation.Reporting;

/// <summary>Percentiles by linear interpolation between the closest ranks (numpy's default, Hyndman–Fan type 7).</summary>
internal static class Percentiles
{
    /// <summary>The <paramref name="percent"/>-th percentile (0–100) of <paramref name="sorted"/>, which must be sorted ascending.</summary>
    public static double OfSorted(IReadOnlyList<double> sorted, double percent)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        ArgumentOutOfRangeException.ThrowIfNegative(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        if (sorted.Count == 0)
        {
            throw new ArgumentException("no samples", nameof(sorted));
        }

        var rank = percent / 100 * (sorted.Count - 1);
        var lower = (int)Math.Floor(rank);
        var upper = Math.Min(lower + 1, sorted.Count - 1);
        return sorted[lower] + ((rank - lower) * (sorted[upper] - sorted[lower]));
    }

    public static double Of(IEnumerable<double> samples, double percent) => OfSorted([.. samples.Order()], percent);
}
