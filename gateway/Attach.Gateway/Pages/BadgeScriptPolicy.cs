using System.Security.Cryptography;

namespace Attach.Gateway.Pages;

/// <summary>
/// Reads a page's <c>Content-Security-Policy</c> headers (and the policies of its
/// <c>&lt;meta http-equiv="Content-Security-Policy"&gt;</c> tags, which browsers enforce as well) and says how the badge's same-origin script can load under
/// them without loosening anything the page relies on: as it is (the policy admits <c>'self'</c>, or sets no script
/// rule), with the page's own nonce, with a nonce of the gateway's added to the script rule, or not at all.
/// </summary>
internal static class BadgeScriptPolicy
{
    /// <summary>
    /// Decides for the policies of one response: its headers (each value may hold several, comma-separated) and the
    /// page's meta tags (one policy each, CSP §3.3), in the page's order. A script must satisfy every one of them.
    /// </summary>
    public static BadgeScriptDecision Decide(IReadOnlyList<string> headerValues, IReadOnlyList<string>? metaPolicies = null)
    {
        ArgumentNullException.ThrowIfNull(headerValues);
        metaPolicies ??= [];
        var policies = headerValues
            .SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Select(text => Parse(text, meta: -1))
            .Concat(metaPolicies.Select((text, i) => Parse(text, meta: i)))
            .ToList();
        var blocking = new List<Policy>();
        foreach (var policy in policies)
        {
            var rule = policy.ScriptRule();
            if (rule is null || Admits(rule.Sources))
            {
                continue;
            }

            if (rule.Sources.Count == 1 && rule.Sources[0].Equals("'none'", StringComparison.OrdinalIgnoreCase))
            {
                return BadgeScriptDecision.Skip("the page's Content-Security-Policy forbids every script (script-src 'none')");
            }

            blocking.Add(policy);
        }

        if (blocking.Count == 0)
        {
            return BadgeScriptDecision.Unchanged(null);
        }

        // The page's own nonce, when every policy that needs one carries the same: nothing in the headers changes.
        var nonces = blocking.Select(p => p.ScriptRule()!.Sources.FirstOrDefault(IsNonce)).ToList();
        if (nonces.All(n => n is not null) && nonces.Distinct(StringComparer.Ordinal).Count() == 1)
        {
            return BadgeScriptDecision.Unchanged(nonces[0]!["'nonce-".Length..^1]);
        }

        // Adding a nonce switches 'unsafe-inline' off (CSP Level 2): the page's inline scripts would stop running.
        if (blocking.Any(p => p.ScriptRule()!.Sources.Any(s => s.Equals("'unsafe-inline'", StringComparison.OrdinalIgnoreCase))
            && !p.ScriptRule()!.Sources.Any(s => IsNonce(s) || IsHash(s))))
        {
            return BadgeScriptDecision.Skip("the page's Content-Security-Policy admits inline scripts but not same-origin ones; a nonce for the badge would switch its inline scripts off");
        }

        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        string Rewrite(Policy p) => blocking.Contains(p) ? p.WithScriptNonce(nonce) : p.Text;
        var headers = policies.Where(p => p.Meta < 0).ToList();
        var metas = policies.Where(p => p.Meta >= 0).ToList();
        return BadgeScriptDecision.Rewritten(
            nonce,
            headers.Any(blocking.Contains) ? [string.Join(", ", headers.Select(Rewrite))] : null,
            metas.Any(blocking.Contains) ? [.. metas.Select(Rewrite)] : null);
    }

    private static bool Admits(IReadOnlyList<string> sources) =>
        !sources.Any(s => s.Equals("'strict-dynamic'", StringComparison.OrdinalIgnoreCase))
        && sources.Any(s => s.Equals("'self'", StringComparison.OrdinalIgnoreCase) || s == "*");

    private static bool IsNonce(string source) =>
        source.StartsWith("'nonce-", StringComparison.OrdinalIgnoreCase) && source.EndsWith('\'') && source.Length > "'nonce-'".Length;

    private static bool IsHash(string source) =>
        source.StartsWith("'sha256-", StringComparison.OrdinalIgnoreCase)
        || source.StartsWith("'sha384-", StringComparison.OrdinalIgnoreCase)
        || source.StartsWith("'sha512-", StringComparison.OrdinalIgnoreCase);

    private static Policy Parse(string text, int meta)
    {
        var directives = text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(d => d.Split(' ', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts.Length > 0)
            .Select(parts => new Directive(parts[0].ToLowerInvariant(), parts[1..]))
            .ToList();
        return new Policy(text, directives, meta);
    }

    private sealed record Directive(string Name, IReadOnlyList<string> Sources);

    /// <summary>One policy, as written.</summary>
    /// <param name="Text">Its text.</param>
    /// <param name="Directives">Its directives, in order.</param>
    /// <param name="Meta">The index of the meta tag it came from; -1 for a header's.</param>
    private sealed record Policy(string Text, IReadOnlyList<Directive> Directives, int Meta)
    {
        /// <summary>The directive a &lt;script src&gt; element is checked against (CSP Level 3 fallback order).</summary>
        public Directive? ScriptRule() =>
            Find("script-src-elem") ?? Find("script-src") ?? Find("default-src");

        public string WithScriptNonce(string nonce)
        {
            var rule = ScriptRule()!;
            var source = $"'nonce-{nonce}'";
            if (rule.Name == "default-src")
            {
                // A script rule of its own, starting from what default-src allowed, so nothing else changes.
                return string.Join("; ", Directives.Select(Render).Append(Render(new Directive("script-src", [.. rule.Sources, source]))));
            }

            // The first directive of a name is the one that counts (later duplicates are ignored by browsers).
            var done = false;
            return string.Join("; ", Directives.Select(d =>
            {
                if (!done && d.Name == rule.Name)
                {
                    done = true;
                    return Render(d with { Sources = [.. d.Sources, source] });
                }

                return Render(d);
            }));
        }

        private Directive? Find(string name) => Directives.FirstOrDefault(d => d.Name == name);

        private static string Render(Directive d) => d.Sources.Count == 0 ? d.Name : $"{d.Name} {string.Join(' ', d.Sources)}";
    }
}

/// <summary>How the badge's script tag goes into one page.</summary>
/// <param name="Inject">False when the page's policy leaves no safe way in.</param>
/// <param name="Nonce">The nonce the tag carries, if any.</param>
/// <param name="Policies">The response's new <c>Content-Security-Policy</c> values; null when they stay as they are.</param>
/// <param name="SkipReason">Why the badge stays out, when it does.</param>
/// <param name="MetaPolicies">The new policy of each meta tag, in order; null when they stay as they are.</param>
internal sealed record BadgeScriptDecision(bool Inject, string? Nonce, IReadOnlyList<string>? Policies, string? SkipReason, IReadOnlyList<string>? MetaPolicies = null)
{
    public static BadgeScriptDecision Unchanged(string? nonce) => new(true, nonce, null, null);

    public static BadgeScriptDecision Rewritten(string nonce, IReadOnlyList<string>? policies, IReadOnlyList<string>? metaPolicies) => new(true, nonce, policies, null, metaPolicies);

    public static BadgeScriptDecision Skip(string reason) => new(false, null, null, reason);
}
