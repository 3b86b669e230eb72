using System.Globalization;
using Attach.Agent.Suspend;

namespace Attach.Agent.Gpu;

/// <summary>
/// Device memory per process from <c>nvidia-smi --query-compute-apps=pid,used_memory</c>: what a suspend
/// copies to host memory, so its result can say how many bytes moved.
/// </summary>
internal sealed class NvidiaSmiProcessDeviceMemory(INvidiaSmi nvidiaSmi) : IProcessDeviceMemory
{
    internal static readonly IReadOnlyList<string> Arguments = ["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"];

    public async ValueTask<long?> BytesHeldAsync(int pid, CancellationToken cancellationToken)
    {
        string output;
        try
        {
            output = await nvidiaSmi.RunAsync(Arguments, cancellationToken);
        }
        catch (NvidiaSmiException)
        {
            return null;
        }

        return Parse(output, pid);
    }

    /// <summary>Sums the process's rows (one per GPU it uses); null when it has none or the output is not understood.</summary>
    internal static long? Parse(string output, int pid)
    {
        long? mib = null;
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(',', StringSplitOptions.TrimEntries);
            if (fields.Length >= 2
                && int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var rowPid) && rowPid == pid
                && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var used))
            {
                mib = (mib ?? 0) + used;
            }
        }

        return mib * 1024 * 1024;
    }
}
