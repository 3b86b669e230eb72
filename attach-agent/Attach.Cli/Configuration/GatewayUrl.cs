using System.Diagnostics.CodeAnalysis;
using System.Web;

namespace Attach.Cli.Configuration;

/// <summary>Reads what a user pastes as a gateway URL, including the <c>?token=</c> URL <c>make run</c> prints.</summary>
internal static class GatewayUrl
{
    // "…/tree", "…/lab" and the like are pages of the server, not its base: people paste them too.
    private static readonly string[] Pages = ["/tree", "/lab", "/notebooks", "/hub"];

    /// <summary>The base URL (ending in '/', without query) and the token in its query, if any.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out Uri? baseUrl, out string? token)
    {
        baseUrl = null;
        token = null;
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return false;
        }

        token = HttpUtility.ParseQueryString(uri.Query)["token"] is { Length: > 0 } t ? t : null;
        var path = uri.AbsolutePath;
        // "…/tree", "…/lab" and the like are pages of the server, not its base: people paste them too.
        var at = Pages.Select(page => path.IndexOf(page, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
        if (at >= 0)
        {
            path = path[..at];
        }

        if (!path.EndsWith('/'))
        {
            path += "/";
        }

        baseUrl = new UriBuilder(uri.Scheme, uri.Host, uri.Port, path).Uri;
        return true;
    }
}
