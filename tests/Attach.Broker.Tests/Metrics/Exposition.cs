using System.Globalization;
using System.Text.RegularExpressions;

namespace Attach.Broker.Tests.Metrics;

/// <summary>Prometheus's text exposition format (version 0.0.4), read as strictly as Prometheus reads it.</summary>
internal static partial class Exposition
{
    /// <summary>Every sample, by series (<c>name{label="value",…}</c> as written); fails on a line Prometheus would refuse.</summary>
    public static Dictionary<string, double> Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        var described = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                described.Add(line.Split(' ')[2]);
                continue;
            }

            var match = Sample().Match(line);
            Assert.True(match.Success, $"not a valid sample line: {line}");
            var name = match.Groups["name"].Value;
            var family = SuffixOf().Replace(name, "");
            Assert.True(described.Contains(name) || described.Contains(family), $"{name} has no HELP/TYPE before its samples");
            Assert.True(samples.TryAdd(match.Groups["series"].Value, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)), $"{line} repeats a series");
        }

        return samples;
    }

    [GeneratedRegex("""^(?<series>(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?) (?<value>[-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN))$""")]
    private static partial Regex Sample();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex SuffixOf();
}
