using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Attach.Gateway.Pages;

/// <summary>One <c>&lt;meta http-equiv="Content-Security-Policy" content="…"&gt;</c> of a page.</summary>
/// <param name="ValueStart">Where the content attribute's value starts in the page's bytes, its quotes included.</param>
/// <param name="ValueLength">Its length in bytes, quotes included.</param>
/// <param name="Policy">The policy, its character references decoded.</param>
internal sealed record CspMetaTag(int ValueStart, int ValueLength, string Policy);

/// <summary>
/// Finds and rewrites the Content-Security-Policy meta tags of a page. Browsers enforce such a policy only from a
/// meta tag inside <c>&lt;head&gt;</c>, so only tags before the first <c>&lt;/head</c> count; the badge goes in just
/// before that, after all of them, so each of them applies to it. The page is read as Latin-1, one character per
/// byte, so positions are byte positions and every ASCII-compatible charset comes out byte for byte.
/// </summary>
internal static partial class CspMetaTags
{
    public static IReadOnlyList<CspMetaTag> Find(ReadOnlySpan<byte> page)
    {
        var text = Encoding.Latin1.GetString(page);
        var headEnd = text.IndexOf("</head", StringComparison.OrdinalIgnoreCase);
        if (headEnd < 0)
        {
            return [];
        }

        var found = new List<CspMetaTag>();
        foreach (Match tag in MetaTag().Matches(text[..headEnd]))
        {
            string? httpEquiv = null;
            Group? content = null;
            foreach (Match attribute in Attribute().Matches(tag.Value, "<meta".Length))
            {
                var name = attribute.Groups["name"].Value;
                var value = attribute.Groups["dq"].Success ? attribute.Groups["dq"] : attribute.Groups["sq"].Success ? attribute.Groups["sq"] : attribute.Groups["uq"];
                if (name.Equals("http-equiv", StringComparison.OrdinalIgnoreCase))
                {
                    httpEquiv ??= WebUtility.HtmlDecode(value.Value).Trim();
                }
                else if (name.Equals("content", StringComparison.OrdinalIgnoreCase) && value.Success)
                {
                    content ??= value;
                }
            }

            // A Report-Only policy is not allowed in a meta tag; browsers ignore it.
            if (content is not null && string.Equals(httpEquiv, "Content-Security-Policy", StringComparison.OrdinalIgnoreCase))
            {
                var quoted = content.Name is "dq" or "sq" ? 1 : 0;
                found.Add(new CspMetaTag(tag.Index + content.Index - quoted, content.Length + 2 * quoted, WebUtility.HtmlDecode(content.Value)));
            }
        }

        return found;
    }

    /// <summary>The page with each tag's content replaced by the policy of the same index, double-quoted and escaped.</summary>
    public static byte[] Rewrite(ReadOnlySpan<byte> page, IReadOnlyList<CspMetaTag> tags, IReadOnlyList<string> policies)
    {
        using var output = new MemoryStream(page.Length + 64 * tags.Count);
        var at = 0;
        for (var i = 0; i < tags.Count; i++)
        {
            output.Write(page[at..tags[i].ValueStart]);
            var value = "\"" + policies[i].Replace("&", "&amp;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal) + "\"";
            output.Write(Encoding.Latin1.GetBytes(value));
            at = tags[i].ValueStart + tags[i].ValueLength;
        }

        output.Write(page[at..]);
        return output.ToArray();
    }

    [GeneratedRegex(@"<meta\b[^>]*>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex MetaTag();

    [GeneratedRegex(@"(?<name>[^\s""'>/=]+)(?:\s*=\s*(?:""(?<dq>[^""]*)""|'(?<sq>[^']*)'|(?<uq>[^\s""'=<>`]+)))?", RegexOptions.CultureInvariant)]
    private static partial Regex Attribute();
}
