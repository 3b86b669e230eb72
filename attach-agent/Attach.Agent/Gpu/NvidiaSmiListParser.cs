using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Attach.Agent.Gpu;

/// <summary>
/// Parses <c>nvidia-smi -L</c> for the one thing <c>-q -x</c> does not print: each MIG device's UUID, which
/// <c>CUDA_VISIBLE_DEVICES</c> and the NVIDIA container toolkit need to confine a process to one instance.
/// </summary>
/// <remarks>
/// The listing prints each GPU, then its MIG devices indented under it:
/// <code>
/// GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-9c73eb7b-8d6d-6c0e-dc13-97873e2ede40)
///   MIG 1g.10gb     Device  0: (UUID: MIG-a686709d-6dc2-542a-8851-0d2508448c10)
/// </code>
/// The device number is the MIG device index that <c>-q -x</c> prints as <c>mig_device/index</c>.
/// </remarks>
internal static partial class NvidiaSmiListParser
{
    public static readonly ImmutableArray<string> Arguments = ["-L"];

    /// <summary>The MIG device UUIDs by GPU UUID (case-insensitive), then by MIG device index.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<int, string>> ParseMigUuids(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var result = new Dictionary<string, IReadOnlyDictionary<int, string>>(StringComparer.OrdinalIgnoreCase);
        Dictionary<int, string>? current = null;
        foreach (var line in output.Split('\n'))
        {
            if (GpuLine().Match(line) is { Success: true } gpu)
            {
                current = [];
                result[gpu.Groups["uuid"].Value] = current;
            }
            else if (MigLine().Match(line) is { Success: true } mig && current is not null)
            {
                current[int.Parse(mig.Groups["index"].Value, CultureInfo.InvariantCulture)] = mig.Groups["uuid"].Value;
            }
        }

        return result;
    }

    [GeneratedRegex(@"^GPU\s+\d+:.*\(UUID:\s*(?<uuid>GPU-[^)\s]+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex GpuLine();

    [GeneratedRegex(@"^\s+MIG\s+.*Device\s+(?<index>\d+):\s*\(UUID:\s*(?<uuid>MIG-[^)\s]+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex MigLine();
}
