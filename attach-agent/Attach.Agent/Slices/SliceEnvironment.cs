using System.Collections.ObjectModel;
using System.Globalization;
using Attach.Contracts.Pool;

namespace Attach.Agent.Slices;

/// <summary>The environment a process needs to use a bound slice, and nothing more.</summary>
internal static class SliceEnvironment
{
    /// <summary>Which GPU the process sees, by UUID so that renumbering cannot move it.</summary>
    public const string VisibleDevices = "CUDA_VISIBLE_DEVICES";

    /// <summary>HAMi-core's device-memory cap (<c>libvgpu.so</c>), e.g. <c>20480m</c>.</summary>
    public const string MemoryLimit = "CUDA_DEVICE_MEMORY_LIMIT";

    /// <summary>HAMi-core's SM utilisation cap, in percent.</summary>
    public const string SmLimit = "CUDA_DEVICE_SM_LIMIT";

    /// <summary>The lease the process runs under, for the shim and for diagnostics.</summary>
    public const string LeaseId = "ATTACH_LEASE_ID";

    /// <summary>
    /// A whole GPU needs only <see cref="VisibleDevices"/>; a slice adds HAMi-core's limits for the part it
    /// does not get (memory below the GPU's total, compute below 100 %). A MIG instance (<paramref name="migUuid"/>)
    /// is named instead of its GPU and needs no limits: the hardware confines the process to the instance's memory and
    /// multiprocessors.
    /// </summary>
    public static IReadOnlyDictionary<string, string> For(GpuInfo gpu, string leaseId, long memoryMiB, int computePercent, string? migUuid = null)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var environment = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [VisibleDevices] = migUuid ?? gpu.Uuid,
            [LeaseId] = leaseId,
        };
        if (migUuid is not null)
        {
            return new ReadOnlyDictionary<string, string>(environment);
        }

        if (memoryMiB < gpu.MemoryTotalMiB)
        {
            environment[MemoryLimit] = string.Create(CultureInfo.InvariantCulture, $"{memoryMiB}m");
        }

        if (computePercent < 100)
        {
            environment[SmLimit] = computePercent.ToString(CultureInfo.InvariantCulture);
        }

        return new ReadOnlyDictionary<string, string>(environment);
    }
}
