namespace Attach.Agent.Broker;

/// <summary>Base URLs exchanged between the services.</summary>
internal static class BaseUrl
{
    /// <summary>
    /// The URL with a trailing slash, so that a relative path resolved against it (<c>new Uri(base, "api/v1/…")</c>)
    /// keeps any path base instead of replacing its last segment.
    /// </summary>
    public static Uri WithTrailingSlash(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        // Built from AbsoluteUri, not returned as is: JSON writes a Uri's original string, which may lack the slash.
        var absolute = url.AbsoluteUri;
        return new Uri(absolute.EndsWith('/') ? absolute : absolute + "/");
    }
}
