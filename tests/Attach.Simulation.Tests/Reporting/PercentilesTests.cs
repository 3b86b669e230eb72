using Attach.Simulation.Reporting;

namespace Attach.Simulation.Tests.Reporting;

public sealed class PercentilesTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(50, 50.5)]
    [InlineData(95, 95.05)]
    [InlineData(100, 100)]
    public void Percentile_InterpolatesBetweenClosestRanks(double percent, double expected)
    {
        var samples = Enumerable.Range(1, 100).Select(i => (double)i).Reverse();

        Assert.Equal(expected, Percentiles.Of(samples, percent), 9);
    }

    [Fact]
    public void Percentile_OfOneSample_IsThatSample() => Assert.Equal(4.2, Percentiles.Of([4.2], 95));

    [Fact]
    public void Percentile_OfNoSamples_IsRefused() => Assert.Throws<ArgumentException>(() => Percentiles.Of([], 50));
}
