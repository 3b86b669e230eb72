using System.Globalization;

namespace Attach.Simulation.Throughput;

/// <summary>The process's resident memory as the kernel reports it (<c>/proc/self/status</c>: VmRSS now, VmHWM at peak).</summary>
internal static class ProcessMemory
{
    public static (long RssBytes, long PeakRssBytes) Read()
    {
        if (!File.Exists("/proc/self/status"))
        {
            return (Environment.WorkingSet, Environment.WorkingSet);
        }

        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = ParseKiB(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = ParseKiB(line);
            }
        }

        return (rss, peak);
    }

    /// <summary>"VmRSS:     123456 kB" → bytes.</summary>
    internal static long ParseKiB(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
    }
}
