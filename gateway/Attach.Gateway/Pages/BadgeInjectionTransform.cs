using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Attach.Gateway.Proxy;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Attach.Gateway.Pages;

/// <summary>
/// Puts the badge's script tag into the HTML pages the Jupyter and code-server backends serve. It runs before
/// any other response transform and hands them the rewritten page as the proxied response's content, so a later
/// transform that reads the page (the Jupyter token scrubber) sees the tag and the page is read from upstream
/// once. Headers follow the new body: Content-Length, no Content-Encoding, a weak ETag, the CSP the tag needs
/// (in the headers and in the page's own Content-Security-Policy meta tags).
/// </summary>
internal sealed class BadgeInjectionTransform(
    IOptionsMonitor<PagesOptions> options,
    StaticAssets assets,
    ILogger<BadgeInjectionTransform> logger) : ITransformProvider
{
    private bool _notBuiltLogged;

    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        // The broker's API and hub never serve pages; every other backend (Jupyter, code-server) does.
        if (context.Route.ClusterId == ProxyRoutes.BrokerCluster)
        {
            return;
        }

        context.AddRequestTransform(RequestIdentityForPages);
        context.AddResponseTransform(InjectAsync);
    }

    /// <summary>Asks the backend for an uncompressed page on navigations, so it can be rewritten without decompressing.</summary>
    private ValueTask RequestIdentityForPages(RequestTransformContext transform)
    {
        var request = transform.HttpContext.Request;
        if (options.CurrentValue.InjectBadge
            && HttpMethods.IsGet(request.Method)
            && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            transform.ProxyRequest.Headers.AcceptEncoding.Clear();
        }

        return ValueTask.CompletedTask;
    }

    internal async ValueTask InjectAsync(ResponseTransformContext transform)
    {
        var settings = options.CurrentValue;
        var upstream = transform.ProxyResponse;
        var context = transform.HttpContext;
        if (!settings.InjectBadge
            || upstream is not { StatusCode: HttpStatusCode.OK, Content: { } content }
            || content.Headers.ContentType?.MediaType is not "text/html"
            || !HttpMethods.IsGet(context.Request.Method)
            || !IsTopLevelPage(context.Request)
            || content.Headers.ContentDisposition?.DispositionType is "attachment"
            || content.Headers.ContentType.CharSet is { } charset && charset.StartsWith("utf-16", StringComparison.OrdinalIgnoreCase)
            || content.Headers.ContentLength > settings.MaxPageBytes)
        {
            return;
        }

        if (!assets.Exists("badge.js"))
        {
            LogBadgeNotBuilt(assets.Directory);
            return;
        }

        var encodings = content.Headers.ContentEncoding.ToList();
        if (encodings.Count > 1 || encodings.Count == 1 && !CanDecode(encodings[0]))
        {
            Log.PageEncodingNotRewritable(logger, context.Request.Path, string.Join(", ", encodings));
            return;
        }

        var stream = await content.ReadAsStreamAsync(transform.CancellationToken);
        var raw = await ReadUpToAsync(stream, settings.MaxPageBytes + 1, transform.CancellationToken);
        if (raw.Length > settings.MaxPageBytes)
        {
            // Too large to hold: what was read goes out first, then the rest of the stream, untouched.
            upstream.Content = Passthrough(new ConcatenatedStream(raw, stream), content);
            return;
        }

        var page = encodings.Count == 0 ? raw : await DecodeAsync(raw, encodings[0], settings.MaxPageBytes, transform.CancellationToken);
        var metas = page is null ? [] : CspMetaTags.Find(page);
        var decision = BadgeScriptPolicy.Decide([.. context.Response.Headers.ContentSecurityPolicy.Where(v => v is not null)!], [.. metas.Select(m => m.Policy)]);
        byte[]? rewritten = null;
        if (decision.Inject && page is not null)
        {
            // The page's own policy tags get the badge's nonce too, or the browser would still refuse the script.
            var withPolicies = decision.MetaPolicies is { } metaPolicies ? CspMetaTags.Rewrite(page, metas, metaPolicies) : page;
            rewritten = BadgeTag.Insert(withPolicies, BadgeTag.Render(decision.Nonce));
        }

        if (rewritten is null)
        {
            if (decision.SkipReason is { } reason)
            {
                Log.BadgeSkippedForPolicy(logger, context.Request.Path, reason);
            }

            upstream.Content = Passthrough(new MemoryStream(raw), content);
            return;
        }

        var headers = context.Response.Headers;
        if (decision.Policies is { } policies)
        {
            headers.ContentSecurityPolicy = policies.ToArray();
        }

        // The body is no longer the one the backend's validator names: same meaning, other bytes.
        if (headers.ETag.ToString() is { Length: > 0 } etag && !etag.StartsWith("W/", StringComparison.Ordinal))
        {
            headers.ETag = "W/" + etag;
        }

        headers.ContentEncoding = default;
        headers.Remove(HeaderNames.ContentMD5);
        headers.ContentLength = rewritten.Length;
        var replacement = new ByteArrayContent(rewritten);
        foreach (var header in content.Headers.Where(h => !IsBodySpecific(h.Key)))
        {
            replacement.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        upstream.Content = replacement;
        content.Dispose();
    }

    /// <summary>Browsers say what a response is for; only a page a person navigates to gets a badge (not iframes, not fetches).</summary>
    private static bool IsTopLevelPage(HttpRequest request) =>
        request.Headers["Sec-Fetch-Dest"].ToString() is "" or "document";

    private static bool CanDecode(string encoding) => encoding is "gzip" or "deflate" or "br";

    private static bool IsBodySpecific(string header) =>
        header.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
        || header.Equals(HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase)
        || header.Equals(HeaderNames.ContentMD5, StringComparison.OrdinalIgnoreCase);

    private static async Task<byte[]> ReadUpToAsync(Stream stream, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while (buffer.Length < limit && (read = await stream.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, limit - buffer.Length)), cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>The decompressed page; null when it is larger than <paramref name="limit"/> (it then goes out as it came).</summary>
    private static async Task<byte[]?> DecodeAsync(byte[] raw, string encoding, long limit, CancellationToken cancellationToken)
    {
        using var input = new MemoryStream(raw);
        await using Stream decoder = encoding switch
        {
            "gzip" => new GZipStream(input, CompressionMode.Decompress),
            "deflate" => new ZLibStream(input, CompressionMode.Decompress),
            _ => new BrotliStream(input, CompressionMode.Decompress),
        };
        using var output = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await decoder.ReadAsync(chunk, cancellationToken)) > 0)
        {
            output.Write(chunk, 0, read);
            if (output.Length > limit)
            {
                return null;
            }
        }

        return output.ToArray();
    }

    private static StreamContent Passthrough(Stream body, HttpContent original)
    {
        var content = new StreamContent(body);
        foreach (var header in original.Headers)
        {
            content.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        return content;
    }

    private void LogBadgeNotBuilt(string directory)
    {
        if (!_notBuiltLogged)
        {
            _notBuiltLogged = true;
            Log.BadgeNotBuilt(logger, directory);
        }
    }
}
