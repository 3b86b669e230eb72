using System.Text.RegularExpressions;
using Attach.Contracts.Kernels;

namespace Attach.Gateway.Broker;

/// <summary>
/// The broker's GPU-evidence rules (<see cref="ExecutionRuleSet"/>), compiled in the gateway only to recognise a cell
/// that shows no evidence at all, so it can go to the kernel without a round trip to the broker. The broker stays
/// the judge of everything else: the rules run exactly as the broker runs them, but only on code the broker's own
/// preparation (removing comments, blanking prose strings) would leave unchanged; a cell with a <c>#</c> or a quote,
/// a rule that times out, or a pattern this runtime cannot compile means "ask the broker".
/// </summary>
internal sealed class ExecutionRules
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(250);
    private readonly Regex[] _patterns;

    private ExecutionRules(Regex[] patterns) => _patterns = patterns;

    public int Count => _patterns.Length - 1;

    /// <summary>Compiles the broker's rule set; null (ask the broker about every cell) when any pattern does not compile.</summary>
    public static ExecutionRules? TryCreate(ExecutionRuleSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (set.Rules is not { Count: > 0 } rules || string.IsNullOrEmpty(set.DirectivePattern))
        {
            return null;
        }

        try
        {
            var patterns = rules
                .Select(r => new Regex(r.Pattern, RegexOptions.Multiline | RegexOptions.CultureInvariant, MatchTimeout))
                .Append(new Regex(set.DirectivePattern, RegexOptions.Multiline | RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, MatchTimeout))
                .ToArray();
            return new ExecutionRules(patterns);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// True only when the broker would classify this cell as CPU-only for certain: the code has no comment and no
    /// string (so the broker matches it as is), no rule matches it, and no slice directive is in it.
    /// </summary>
    public bool ShowsNoEvidence(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        if (code.AsSpan().IndexOfAny('#', '"', '\'') >= 0)
        {
            return false;
        }

        foreach (var pattern in _patterns)
        {
            try
            {
                if (pattern.IsMatch(code))
                {
                    return false;
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // The broker treats a timed-out rule as not matching; the gateway does not guess: ask.
                return false;
            }
        }

        return true;
    }
}
