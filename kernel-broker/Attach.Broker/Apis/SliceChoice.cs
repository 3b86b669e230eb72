using Attach.Broker.Detection;
using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Contracts.Kernels;

namespace Attach.Broker.Apis;

/// <summary>Which slice an attach asks for: the cell's directive, else the kernel's slice preference, else the broker's default.</summary>
internal static class SliceChoice
{
    /// <summary>The slice, or why the directive or preference cannot be used.</summary>
    public static (SliceRequest Slice, string? Error) For(
        SliceDirective? directive, SlicePreference? preference, BrokerOptions broker, SchedulingOptions scheduling, string? nodeId = null, string? group = null)
    {
        var fallback = new SliceRequest(broker.DefaultSliceMiB, broker.DefaultSliceComputePercent, nodeId, Group: group);
        if (directive?.Error is { } error)
        {
            return (fallback, $"the cell's attach line cannot be read: {error}");
        }

        var profile = directive is not null ? directive.Profile : preference?.Profile;
        var memory = directive is not null ? directive.MemoryMiB : preference?.MemoryMiB;
        if (profile is not null)
        {
            if (scheduling.Profile(profile) is not { } chosen)
            {
                return (fallback, UnknownProfile(profile, scheduling));
            }

            fallback = fallback with { Profile = profile };

            return (chosen.GpuFraction is { } fraction
                ? fallback with { GpuFraction = fraction, MemoryMiB = 0, ComputePercent = chosen.ComputePercent }
                : fallback with { MemoryMiB = chosen.MemoryMiB ?? broker.DefaultSliceMiB, ComputePercent = chosen.ComputePercent }, null);
        }

        return (memory is { } mib ? fallback with { MemoryMiB = mib } : fallback, null);
    }

    public static string UnknownProfile(string profile, SchedulingOptions scheduling) =>
        $"there is no slice profile '{profile}': choose one of {string.Join(", ", scheduling.ProfileNames())}, or give a size in MiB";
}
