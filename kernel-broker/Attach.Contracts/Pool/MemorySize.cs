namespace Attach.Contracts.Pool;

/// <summary>How Attach shows an amount of device memory to people, in the broker's states, the cell's attach line and the CLI.</summary>
public static class MemorySize
{
    /// <summary>Whole gibibytes as "20 GiB", anything else as "1536 MiB".</summary>
    public static string Format(long mib) =>
        mib >= 1024 && mib % 1024 == 0 ? $"{mib / 1024} GiB" : $"{mib} MiB";
}
