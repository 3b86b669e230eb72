using System.Globalization;

namespace Attach.Agent.Gpu;

/// <summary>Reads one value as <c>nvidia-smi</c> prints it, in CSV or XML.</summary>
internal static class NvidiaSmiField
{
    /// <summary>
    /// The value, trimmed; null for an empty value and for the ones nvidia-smi prints when it cannot report:
    /// <c>N/A</c> (XML), and bracketed notes such as <c>[N/A]</c>, <c>[Not Supported]</c>, <c>[Unknown Error]</c>,
    /// <c>[Insufficient Permissions]</c> (CSV).
    /// </summary>
    public static string? Text(string? raw)
    {
        var value = raw?.Trim();
        if (string.IsNullOrEmpty(value) || value is "N/A" || (value.StartsWith('[') && value.EndsWith(']')))
        {
            return null;
        }

        return value;
    }

    /// <summary>
    /// A whole number with an optional unit after it (<c>1005 MiB</c>, <c>35 %</c>, <c>1005</c>); null when
    /// <see cref="Text"/> is null.
    /// </summary>
    /// <exception cref="FormatException">The value is neither missing nor a number: nvidia-smi changed its format.</exception>
    public static long? Number(string? raw, string field)
    {
        var value = Text(raw);
        if (value is null)
        {
            return null;
        }

        var digits = 0;
        while (digits < value.Length && char.IsAsciiDigit(value[digits]))
        {
            digits++;
        }

        var unit = value.AsSpan(digits).Trim();
        if (digits == 0 || !IsUnit(unit) || !long.TryParse(value.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            throw new FormatException($"nvidia-smi printed '{value}' for {field}, where a whole number (with an optional unit) was expected.");
        }

        return number;
    }

    /// <summary><see cref="Number"/> for values that fit an <see cref="int"/> (percentages, ids, counts).</summary>
    public static int? SmallNumber(string? raw, string field) =>
        Number(raw, field) is { } number
            ? number <= int.MaxValue ? (int)number : throw new FormatException($"nvidia-smi printed {number} for {field}, which is out of range.")
            : null;

    private static bool IsUnit(ReadOnlySpan<char> unit)
    {
        foreach (var c in unit)
        {
            if (!char.IsAsciiLetter(c) && c != '%')
            {
                return false;
            }
        }

        return true;
    }
}
