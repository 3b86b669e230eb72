using System.Globalization;
using System.Text.RegularExpressions;

namespace Attach.Cli.Run;

/// <summary>"20G", "20480M", "512" (MiB), "1T", "20GiB": the sizes libattach.so's ATTACH_MEMORY accepts, as MiB.</summary>
internal static partial class MemorySize
{
    private const long MaxMiB = 1L << 30;

    public static bool TryParseMiB(string? text, out long mib)
    {
        mib = 0;
        var match = text is null ? Match.Empty : Pattern().Match(text);
        if (!match.Success || !long.TryParse(match.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value == 0)
        {
            return false;
        }

        var unit = match.Groups["u"].Value.ToUpperInvariant() switch
        {
            "" or "M" or "MB" or "MIB" => 1L,
            "G" or "GB" or "GIB" => 1024L,
            _ => 1024L * 1024,
        };
        if (value > MaxMiB / unit)
        {
            return false;
        }

        mib = value * unit;
        return true;
    }

    [GeneratedRegex(@"\A(?<n>[0-9]{1,10})(?<u>|[mMgGtT]|[mMgGtT][bB]|[mMgGtT][iI][bB])\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
