using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Detection;

/// <summary>
/// Decides from a cell's code whether it needs a GPU before it runs. Comments are removed first, so a
/// commented-out <c>.cuda()</c> does not attach; string literals are kept because <c>device="cuda"</c>
/// is the strongest evidence there is.
/// </summary>
internal sealed class GpuWorkDetector
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(250);
    private readonly (string Name, Regex Pattern)[] _rules;

    public GpuWorkDetector(IOptions<DetectionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _rules = [.. options.Value.Rules.Select(r => (r.Name, new Regex(r.Pattern, RegexOptions.Multiline | RegexOptions.CultureInvariant, MatchTimeout)))];
    }

    public Detection Classify(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        var text = RemoveComments(code);
        foreach (var (name, pattern) in _rules)
        {
            try
            {
                if (pattern.IsMatch(text))
                {
                    return new Detection(true, name);
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // A pathological cell must not stall the kernel channel; that rule simply does not match.
            }
        }

        return Detection.None;
    }

    /// <summary>Drops Python <c>#</c> comments outside string literals (enough for single-line and triple-quoted strings).</summary>
    internal static string RemoveComments(string code)
    {
        if (!code.Contains('#', StringComparison.Ordinal))
        {
            return code;
        }

        var result = new StringBuilder(code.Length);
        char? quote = null;
        var triple = false;
        for (var i = 0; i < code.Length; i++)
        {
            var c = code[i];
            if (quote is null)
            {
                if (c == '#')
                {
                    while (i < code.Length && code[i] != '\n')
                    {
                        i++;
                    }

                    if (i < code.Length)
                    {
                        result.Append('\n');
                    }

                    continue;
                }

                if (c is '"' or '\'')
                {
                    quote = c;
                    triple = i + 2 < code.Length && code[i + 1] == c && code[i + 2] == c;
                    if (triple)
                    {
                        result.Append(c).Append(c);
                        i += 2;
                    }
                }
            }
            else if (c == '\\' && i + 1 < code.Length)
            {
                result.Append(c).Append(code[i + 1]);
                i++;
                continue;
            }
            else if (c == quote)
            {
                if (!triple)
                {
                    quote = null;
                }
                else if (i + 2 < code.Length && code[i + 1] == c && code[i + 2] == c)
                {
                    result.Append(c).Append(c);
                    i += 2;
                    quote = null;
                }
            }
            else if (c == '\n' && !triple)
            {
                // An unterminated single-line string ends at the line end, as Python's tokenizer would reject it anyway.
                quote = null;
            }

            result.Append(c);
        }

        return result.ToString();
    }
}
