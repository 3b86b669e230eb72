using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Detection;

/// <summary>
/// Decides from a cell's code whether it needs a GPU before it runs. Comments are removed first, so a
/// commented-out <c>.cuda()</c> does not attach. Short, word-like string literals are kept, because
/// <c>device="cuda"</c> is the strongest evidence there is; prose in strings (docstrings, printed tips
/// that mention <c>model.cuda()</c>) is blanked, so talking about a GPU does not take one.
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
        var text = BlankProseStrings(RemoveComments(code));
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

    /// <summary>The longest string literal kept as is: device names, not sentences.</summary>
    internal const int MaxKeptLiteral = 24;

    /// <summary>
    /// Replaces the contents of triple-quoted strings, and of strings with whitespace or longer than
    /// <see cref="MaxKeptLiteral"/>, with spaces (quotes and line breaks stay). Expects comments removed.
    /// </summary>
    internal static string BlankProseStrings(string code)
    {
        var result = code.ToCharArray();
        for (var i = 0; i < result.Length; i++)
        {
            var quote = result[i];
            if (quote is not ('"' or '\''))
            {
                continue;
            }

            var triple = i + 2 < result.Length && result[i + 1] == quote && result[i + 2] == quote;
            var start = i + (triple ? 3 : 1);
            var end = start;
            while (end < result.Length)
            {
                if (result[end] == '\\')
                {
                    end += 2;
                    continue;
                }

                if (result[end] == quote && (!triple || (end + 2 < result.Length && result[end + 1] == quote && result[end + 2] == quote)))
                {
                    break;
                }

                if (!triple && result[end] == '\n')
                {
                    break;
                }

                end++;
            }

            end = Math.Min(end, result.Length);
            var length = end - start;
            var prose = triple || length > MaxKeptLiteral || Array.FindIndex(result, start, length, char.IsWhiteSpace) >= 0;
            if (prose)
            {
                // An f-string's {expressions} are code, not prose: keep them.
                var formatted = IsFormattedPrefix(result, i);
                var depth = 0;
                for (var j = start; j < end; j++)
                {
                    if (formatted && result[j] == '{')
                    {
                        depth++;
                    }
                    else if (formatted && result[j] == '}' && depth > 0)
                    {
                        depth--;
                    }
                    else if (depth == 0 && result[j] != '\n')
                    {
                        result[j] = ' ';
                    }
                }
            }

            i = end + (triple ? 2 : 0);
        }

        return new string(result);
    }

    /// <summary>Whether the literal whose quote is at <paramref name="quote"/> has an f prefix (f, F, rf, fr, …).</summary>
    private static bool IsFormattedPrefix(char[] code, int quote)
    {
        var i = quote - 1;
        var formatted = false;
        while (i >= 0 && quote - i <= 2 && char.IsLetter(code[i]))
        {
            formatted |= code[i] is 'f' or 'F';
            i--;
        }

        return formatted && (i < 0 || !(char.IsLetterOrDigit(code[i]) || code[i] == '_'));
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
