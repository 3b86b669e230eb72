using System.Net;
using System.Text;
using Yarp.ReverseProxy.Transforms;

namespace Attach.Gateway.Proxy;

/// <summary>
/// Jupyter's page template writes the server token into every page it serves to a token-authenticated
/// request (<c>data-jupyter-api-token</c>), and the gateway authenticates with that token. So HTML from
/// the Jupyter Server is read and the token removed before it reaches the browser, whose pages then use
/// the gateway's session cookie instead. Pages are small; other content streams through untouched.
/// </summary>
internal static class JupyterPageScrubber
{
    /// <summary>Asks Jupyter for uncompressed pages, so they can be read.</summary>
    public static void RequestIdentityForPages(RequestTransformContext transform)
    {
        if (transform.HttpContext.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            transform.ProxyRequest.Headers.AcceptEncoding.Clear();
        }
    }

    public static async ValueTask ScrubAsync(ResponseTransformContext transform, string jupyterToken)
    {
        var content = transform.ProxyResponse?.Content;
        if (content?.Headers.ContentType?.MediaType is not "text/html")
        {
            return;
        }

        var response = transform.HttpContext.Response;
        transform.SuppressResponseBody = true;
        if (content.Headers.ContentEncoding.Count > 0)
        {
            // Cannot inspect it, so it does not go out: failing closed beats leaking the token.
            response.StatusCode = (int)HttpStatusCode.BadGateway;
            response.Headers.ContentLength = null;
            response.Headers.ContentEncoding = default;
            await response.WriteAsync("The Jupyter Server sent a compressed page the gateway cannot inspect; disable its response compression.", transform.CancellationToken);
            return;
        }

        var html = await content.ReadAsStringAsync(transform.CancellationToken);
        var scrubbed = html
            .Replace(jupyterToken, "", StringComparison.Ordinal)
            .Replace(WebUtility.UrlEncode(jupyterToken), "", StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(scrubbed);
        response.ContentLength = bytes.Length;
        response.ContentType = "text/html; charset=utf-8";
        await response.Body.WriteAsync(bytes, transform.CancellationToken);
    }
}
