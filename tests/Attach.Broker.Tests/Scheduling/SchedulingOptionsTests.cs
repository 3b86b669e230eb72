using Attach.Broker.Scheduling;

namespace Attach.Broker.Tests.Scheduling;

public sealed class SchedulingOptionsTests
{
    [Fact]
    public void Validate_ProfileWithBothSizesOrNone_FailsNamingIt()
    {
        var options = new SchedulingOptions
        {
            Profiles = new(StringComparer.OrdinalIgnoreCase)
            {
                ["both"] = new SliceProfile { GpuFraction = 0.5, MemoryMiB = 1024 },
                ["none"] = new SliceProfile(),
                ["fine"] = new SliceProfile { MemoryMiB = 10240, ComputePercent = 30 },
            },
        };

        var result = new SchedulingOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Profiles:both", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Profiles:none", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("Profiles:fine", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Profile_BuiltInsAndConfiguredOnesAreFound()
    {
        var options = new SchedulingOptions { Profiles = new(StringComparer.OrdinalIgnoreCase) { ["small"] = new SliceProfile { MemoryMiB = 5120 } } };

        Assert.Equal(0.5, options.Profile("Half")!.GpuFraction);
        Assert.Equal(5120, options.Profile("small")!.MemoryMiB);
        Assert.Null(options.Profile("eighth"));
        Assert.Equal(["full", "half", "quarter", "small"], options.ProfileNames());
    }
}
