using Attach.Broker.Detection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Tests.Detection;

/// <summary>The rule file the broker ships (copied next to the test assembly), bound as the broker binds it.</summary>
internal static class ShippedRules
{
    private static readonly Lazy<GpuWorkDetector> Shared = new(() => new GpuWorkDetector(Options.Create(Load())));

    public static GpuWorkDetector Detector => Shared.Value;

    public static DetectionOptions Load()
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("detection-rules.json", optional: false)
            .Build();
        var options = new DetectionOptions();
        configuration.GetSection(DetectionOptions.Section).Bind(options);
        return options;
    }
}
