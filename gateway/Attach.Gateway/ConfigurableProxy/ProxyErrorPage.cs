using System.Net;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Attach.Gateway.ConfigurableProxy;

/// <summary>
/// What configurable-http-proxy answers when a route's server does not answer (503): the page the error target
/// gives for <c>GET {target}/{code}?url={request}</c> (JupyterHub's <c>/hub/error/503</c> explains that the
/// user's server is not running and links to the hub), or, without one, a small page of the gateway's own.
/// </summary>
internal sealed class ProxyErrorPage(IHttpClientFactory http, IOptions<GatewayOptions> options, ILogger<ProxyErrorPage> logger)
{
    public const string HttpClientName = "configurable-proxy-error-target";

    private readonly Uri? _errorTarget = options.Value.ConfigurableProxy.ErrorTarget;

    public async Task WriteAsync(HttpContext context, int status)
    {
        var response = context.Response;
        response.Clear();
        response.StatusCode = status;
        if (_errorTarget is not null && await TryErrorTargetAsync(context, status))
        {
            return;
        }

        response.ContentType = "text/html; charset=utf-8";
        var title = $"{status} {ReasonPhrases.GetReasonPhrase(status)}";
        var explanation = status == StatusCodes.Status503ServiceUnavailable
            ? "The server at this address did not answer. If it is your Jupyter server, start it again from the hub's home page."
            : "Nothing is served at this address.";
        await response.WriteAsync(
            $"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1><p>{WebUtility.HtmlEncode(explanation)}</p></body></html>",
            context.RequestAborted);
    }

    private async Task<bool> TryErrorTargetAsync(HttpContext context, int status)
    {
        // configurable-http-proxy: pathname + code (the target ends in '/'), url = the request's path and query.
        var target = _errorTarget!.ToString();
        var root = new Uri(target.EndsWith('/') ? target : target + "/");
        var builder = new UriBuilder(new Uri(root, status.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            Query = "url=" + Uri.EscapeDataString(context.Request.PathBase + context.Request.Path + context.Request.QueryString),
        };
        try
        {
            using var page = await http.CreateClient(HttpClientName).GetAsync(builder.Uri, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            if (page.Content.Headers.ContentType is { } type)
            {
                context.Response.ContentType = type.ToString();
            }

            if (page.Content.Headers.ContentEncoding.Count > 0)
            {
                context.Response.Headers.ContentEncoding = string.Join(", ", page.Content.Headers.ContentEncoding);
            }

            await using var body = await page.Content.ReadAsStreamAsync(context.RequestAborted);
            await body.CopyToAsync(context.Response.Body, context.RequestAborted);
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            Log.ErrorTargetFailed(logger, status, ex.Message);
            context.Response.Headers.ContentEncoding = default;
            return false;
        }
    }
}
