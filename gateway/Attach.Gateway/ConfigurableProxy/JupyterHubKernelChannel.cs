using System.Net.WebSockets;
using Attach.Gateway.Channels;
using Attach.Gateway.Security;
using Microsoft.Net.Http.Headers;

namespace Attach.Gateway.ConfigurableProxy;

/// <summary>
/// The kernel channel of a server behind a JupyterHub route (<c>{prefix}/api/kernels/{id}/channels</c>), through the
/// same relay as the gateway's own users: GPU cells held, progress in the cell, interrupts, all for the user the
/// route's data names. The gateway does not authenticate the browser here, the user's server does: the upstream
/// handshake carries the browser's own credentials (JupyterHub's cookie, <c>?token=</c>, <c>Authorization</c>), Host
/// and Origin, exactly as configurable-http-proxy would pass them, and only once that server has accepted the
/// channel does the relay start, so nothing is held or asked of the broker for a request the server refused.
/// </summary>
internal sealed class JupyterHubKernelChannel(KernelChannelRelay relay, ProxyRouteTable routes, ProxyErrorPage errors, ILogger<JupyterHubKernelChannel> logger)
{
    /// <summary>The request's own headers (connection, body), made again by the gateway's client; everything else goes through.</summary>
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        HeaderNames.Host, HeaderNames.Connection, HeaderNames.Upgrade, HeaderNames.SecWebSocketKey, HeaderNames.SecWebSocketVersion,
        HeaderNames.SecWebSocketExtensions, HeaderNames.SecWebSocketProtocol, HeaderNames.ContentLength, HeaderNames.TransferEncoding,
        HeaderNames.KeepAlive, HeaderNames.TE, HeaderNames.Trailer, HeaderNames.ProxyConnection, HeaderNames.ContentType,
        "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
    };

    public async Task RunAsync(HttpContext context, JupyterHubRoute route, string user, string kernelId)
    {
        var request = context.Request;
        using var upstream = new ClientWebSocket();
        foreach (var subprotocol in context.WebSockets.WebSocketRequestedProtocols)
        {
            upstream.Options.AddSubProtocol(subprotocol);
        }

        foreach (var (name, value) in ForwardedHeaders(context))
        {
            upstream.Options.SetRequestHeader(name, value);
        }

        upstream.Options.CollectHttpResponseDetails = true;
        try
        {
            await upstream.ConnectAsync(UpstreamUri(route.Target, request.Path, request.QueryString, webSocket: true), context.RequestAborted);
        }
        catch (WebSocketException ex)
        {
            var status = (int)upstream.HttpStatusCode;
            if (status == 0)
            {
                Log.HubRouteUnreachable(logger, route.Prefix, ex.Message);
                await errors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable);
                return;
            }

            Log.HubKernelChannelRefused(logger, route.Prefix, kernelId, status);
            await Results.Problem($"The server behind {route.Prefix} answered {status} to the kernel connection: sign in through JupyterHub, and use a kernel of that server.", statusCode: status).ExecuteAsync(context);
            return;
        }

        void Touch() => routes.Touch(route.Prefix);
        using var accepted = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = upstream.SubProtocol });
        using var client = new ActivityWebSocket(accepted, Touch);
        Touch();
        var sessionId = request.Query["session_id"].FirstOrDefault();
        await relay.RelayAsync(client, upstream, kernelId, user, upstream.SubProtocol, string.IsNullOrEmpty(sessionId) ? null : sessionId, context.RequestAborted, ClientWriteCoalescing.Of(context));
        Touch();
    }

    /// <summary>
    /// The headers the route's server gets on the gateway's own requests for a browser (this handshake, the identity
    /// check of <see cref="JupyterHubIdentity"/>): the browser's own (Cookie, Authorization, Origin, Sec-Fetch-*, …), its
    /// Host (the server checks Origin against it), and the X-Forwarded-* a proxy adds, as configurable-http-proxy's
    /// HTTP requests on these routes carry them. Headers of the connection and of a request body are the gateway's.
    /// </summary>
    internal static IEnumerable<KeyValuePair<string, string>> ForwardedHeaders(HttpContext context)
    {
        var request = context.Request;
        foreach (var (name, values) in request.Headers)
        {
            if (NotForwarded.Contains(name) || name.StartsWith(':'))
            {
                continue;
            }

            if (!name.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase))
            {
                yield return new(name, string.Join(", ", values.ToArray()));
            }
            else if (WithoutGatewayCookie(string.Join("; ", values.ToArray())) is { Length: > 0 } cookies)
            {
                yield return new(name, cookies);
            }
        }

        yield return new(HeaderNames.Host, request.Host.Value ?? "");
        if (context.Connection.RemoteIpAddress is { } remote)
        {
            yield return new("X-Forwarded-For", remote.ToString());
        }

        yield return new("X-Forwarded-Proto", request.Scheme);
        yield return new("X-Forwarded-Host", request.Host.Value ?? "");
    }

    /// <summary>
    /// A Cookie header without the gateway's session cookie, the other pairs byte for byte: the gateway's cookie is
    /// for <c>/</c>, so the browser sends it on every route, and no user's server (whose owner may read what reaches
    /// it) may see another user's gateway session. JupyterHub scopes its own cookies by path for the same reason.
    /// </summary>
    internal static string WithoutGatewayCookie(string cookies) =>
        !cookies.Contains(GatewayAuthDefaults.CookieName, StringComparison.Ordinal)
            ? cookies
            : string.Join("; ", cookies.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Where(pair => !pair.StartsWith(GatewayAuthDefaults.CookieName + "=", StringComparison.Ordinal)));

    /// <summary>Target path + request path + query, untouched (configurable-http-proxy's prependPath, and JupyterHub's <c>?token=</c> kept).</summary>
    internal static Uri UpstreamUri(Uri target, PathString path, QueryString query, bool webSocket) => new UriBuilder(target)
    {
        Scheme = webSocket ? (target.Scheme == Uri.UriSchemeHttps ? "wss" : "ws") : target.Scheme,
        Path = target.AbsolutePath.TrimEnd('/') + path.ToUriComponent(),
        Query = query.HasValue ? query.Value![1..] : "",
    }.Uri;
}
