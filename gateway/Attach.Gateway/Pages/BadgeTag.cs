using System.Text;

namespace Attach.Gateway.Pages;

/// <summary>
/// Places the badge's one script tag in a page's bytes. The page is never decoded: the search and the inserted
/// tag are ASCII, so every ASCII-compatible charset (UTF-8, Latin-1, Windows-125x) comes out byte for byte as
/// it went in, apart from the tag.
/// </summary>
internal static class BadgeTag
{
    /// <summary>Where the gateway serves the badge; same origin as the page, so a CSP's <c>'self'</c> admits it.</summary>
    public const string ScriptPath = StaticAssets.RequestPath + "/badge.js";

    private static readonly byte[] HeadEnd = "</head"u8.ToArray();
    private static readonly byte[] BodyEnd = "</body"u8.ToArray();
    private static readonly byte[] ScriptSrc = Encoding.ASCII.GetBytes($"src=\"{ScriptPath}\"");

    /// <summary>The tag, with the CSP nonce when the page's policy needs one.</summary>
    public static string Render(string? nonce) => nonce is null
        ? $"<script src=\"{ScriptPath}\" defer></script>"
        : $"<script src=\"{ScriptPath}\" defer nonce=\"{nonce}\"></script>";

    /// <summary>
    /// The page with the tag before <c>&lt;/head&gt;</c>, or before the last <c>&lt;/body&gt;</c> of a page without a
    /// head; null when the page has neither (a fragment, not a page), or already loads the badge.
    /// </summary>
    public static byte[]? Insert(ReadOnlySpan<byte> page, string tag)
    {
        if (IndexOfIgnoreCase(page, ScriptSrc, last: false) >= 0)
        {
            return null;
        }

        var at = IndexOfIgnoreCase(page, HeadEnd, last: false);
        if (at < 0)
        {
            at = IndexOfIgnoreCase(page, BodyEnd, last: true);
        }

        if (at < 0)
        {
            return null;
        }

        var tagBytes = Encoding.ASCII.GetBytes(tag);
        var result = new byte[page.Length + tagBytes.Length];
        page[..at].CopyTo(result);
        tagBytes.CopyTo(result.AsSpan(at));
        page[at..].CopyTo(result.AsSpan(at + tagBytes.Length));
        return result;
    }

    private static int IndexOfIgnoreCase(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle, bool last)
    {
        var found = -1;
        var i = 0;
        while (i <= haystack.Length - needle.Length)
        {
            // Every tag starts with '<': jump from one to the next instead of comparing at every byte.
            var next = haystack[i..].IndexOf(needle[0]);
            if (next < 0)
            {
                break;
            }

            i += next;
            if (i > haystack.Length - needle.Length)
            {
                break;
            }

            if (System.Text.Ascii.EqualsIgnoreCase(haystack.Slice(i, needle.Length), needle))
            {
                if (!last)
                {
                    return i;
                }

                found = i;
            }

            i++;
        }

        return found;
    }
}
