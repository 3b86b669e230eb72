using System.Text.RegularExpressions;

namespace Attach.Agent.Suspend;

/// <summary>
/// What the installed <c>cuda-checkpoint</c> can do, read from its <c>--help</c>. The utility only exposes the
/// driver's features, so its help text follows the driver: <c>--action</c> (separate lock, checkpoint,
/// restore, unlock) since r555, <c>--device-map</c> (restore onto other GPUs) since r580.
/// </summary>
/// <param name="Version">The version it prints (the driver's), e.g. <c>580.65.06</c>; null when absent.</param>
/// <param name="SupportsActions">True when <c>--action lock | checkpoint | restore | unlock</c> exists.</param>
/// <param name="SupportsDeviceMap">True when restore takes <c>--device-map old=new</c>.</param>
internal sealed partial record CudaCheckpointCapabilities(string? Version, bool SupportsActions, bool SupportsDeviceMap)
{
    public static CudaCheckpointCapabilities FromHelp(string help)
    {
        ArgumentNullException.ThrowIfNull(help);
        var version = VersionPattern().Match(help);
        return new CudaCheckpointCapabilities(
            version.Success ? version.Groups["version"].Value : null,
            help.Contains("--action", StringComparison.Ordinal),
            help.Contains("--device-map", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"Version (?<version>\d+(\.\d+)*)")]
    private static partial Regex VersionPattern();
}
