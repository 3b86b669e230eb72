using System.Globalization;
using System.Text.RegularExpressions;

namespace Attach.Broker.Detection;

/// <summary>
/// A slice size written in the cell (docs/detection.md): a <c>%attach gpu mem=20G</c> magic line, or a
/// <c># attach: mem=20G</c> / <c># attach: profile=half</c> comment. The first such line counts.
/// </summary>
/// <param name="Profile">A named profile (<c>profile=half</c>).</param>
/// <param name="MemoryMiB">A size (<c>mem=20G</c>).</param>
/// <param name="Error">What is wrong with the line, when it cannot be read.</param>
internal sealed partial record SliceDirective(string? Profile, long? MemoryMiB, string? Error)
{
    private const string Usage = "write e.g. '%attach gpu mem=20G', '# attach: mem=20480M' or '# attach: profile=half'";

    /// <summary>The cell's directive, or null when it has none.</summary>
    public static SliceDirective? Find(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        Match match;
        try
        {
            match = DirectiveLine().Match(code);
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }

        if (!match.Success)
        {
            return null;
        }

        string? profile = null;
        long? memory = null;
        foreach (var part in match.Groups["args"].Value.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? part : part[..eq];
            var value = eq < 0 ? "" : part[(eq + 1)..];
            switch (key.ToUpperInvariant())
            {
                case "MEM" or "MEMORY":
                    if (ParseSize(value) is not { } size)
                    {
                        return new SliceDirective(null, null, $"'{part}' is not a size: use a number with M, MiB, G or GiB, e.g. mem=20G");
                    }

                    memory = size;
                    break;
                case "PROFILE":
                    if (value.Length == 0)
                    {
                        return new SliceDirective(null, null, $"'{part}' names no profile: {Usage}");
                    }

                    profile = value;
                    break;
                default:
                    return new SliceDirective(null, null, $"'{part}' is not understood: {Usage}");
            }
        }

        if (profile is not null && memory is not null)
        {
            return new SliceDirective(null, null, "give either mem= or profile=, not both");
        }

        return profile is null && memory is null ? null : new SliceDirective(profile, memory, null);
    }

    /// <summary>MiB in "20G", "20GiB", "20GB", "512M", "512MiB", "1.5g"; a bare number is MiB. Null when it is not a size.</summary>
    internal static long? ParseSize(string text)
    {
        var match = Size().Match(text);
        if (!match.Success || !double.TryParse(match.Groups["n"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }

        var unit = match.Groups["u"].Value.ToUpperInvariant();
        var mib = unit.StartsWith('G') ? number * 1024 : unit.StartsWith('T') ? number * 1024 * 1024 : number;
        return mib is >= 1 and <= 64L * 1024 * 1024 ? (long)Math.Ceiling(mib) : null;
    }

    /// <summary>A directive line (multiline, ignoring case); published to the gateway with the detection rules.</summary>
    internal const string LinePattern = @"^[ \t]*(?:%attach[ \t]+gpu\b(?<args>[^\r\n]*)|#[ \t]*attach[ \t]*:(?<args>[^\r\n]*))";

    [GeneratedRegex(LinePattern, RegexOptions.Multiline | RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 250)]
    private static partial Regex DirectiveLine();

    [GeneratedRegex(@"^(?<n>\d+(?:\.\d+)?)(?<u>|m|mb|mib|g|gb|gib|t|tb|tib)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 250)]
    private static partial Regex Size();
}
