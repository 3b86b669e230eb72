namespace Attach.Agent.Gpu;

/// <summary>Probes the real file system and <c>PATH</c>.</summary>
internal sealed class NvidiaDeviceProbe : INvidiaDeviceProbe
{
    /// <summary>The NVIDIA driver's control device; it exists whenever the kernel module is loaded.</summary>
    public const string ControlDevicePath = "/dev/nvidiactl";

    public bool ControlDeviceExists() => File.Exists(ControlDevicePath);

    public string? FindNvidiaSmi() =>
        FindOnPath(Environment.GetEnvironmentVariable("PATH"), OperatingSystem.IsWindows() ? "nvidia-smi.exe" : "nvidia-smi");

    /// <summary>The first <paramref name="fileName"/> in the directories of a <c>PATH</c>-style list.</summary>
    internal static string? FindOnPath(string? pathVariable, string fileName)
    {
        if (string.IsNullOrEmpty(pathVariable))
        {
            return null;
        }

        foreach (var directory in pathVariable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var candidate = Path.Combine(directory, fileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
