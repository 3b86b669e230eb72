using System.Net.WebSockets;
using Attach.Gateway.Channels;
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
    /// <summary>The handshake's own headers, made again by the gateway's client; everything else goes through.</summary>
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        HeaderNames.Host, HeaderNames.Connection, HeaderNames.Upgrade, HeaderNames.SecWebSocketKey, HeaderNames.SecWebSocketVersion,
        HeaderNames.SecWebSocketExtensions, HeaderNames.SecWebSocketProtocol, HeaderNames.ContentLength, HeaderNames.TransferEncoding,
        HeaderNames.KeepAlive, HeaderNames.TE, HeaderNames.Trailer, HeaderNames.ProxyConnection,
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

        foreach (var (name, values) in request.Headers)
        {
            if (!NotForwarded.Contains(name) && !name.StartsWith(':'))
            {
                upstream.Options.SetRequestHeader(name, string.Join(name.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase) ? "; " : ", ", values.ToArray()));
            }
        }

        // As the proxy's HTTP requests on these routes: the browser's Host (the server checks Origin against it).
        upstream.Options.SetRequestHeader(HeaderNames.Host, request.Host.Value);
        if (context.Connection.RemoteIpAddress is { } remote)
        {
            upstream.Options.SetRequestHeader("X-Forwarded-For", remote.ToString());
        }

        upstream.Options.SetRequestHeader("X-Forwarded-Proto", request.Scheme);
        upstream.Options.SetRequestHeader("X-Forwarded-Host", request.Host.Value);
        upstream.Options.CollectHttpResponseDetails = true;
        try
        {
            await upstream.ConnectAsync(UpstreamUri(route.Target, request), context.RequestAborted);
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

    /// <summary>Target path + request path + query, untouched (configurable-http-proxy's prependPath, and JupyterHub's <c>?token=</c> kept).</summary>
    private static Uri UpstreamUri(Uri target, HttpRequest request) => new UriBuilder(target)
    {
        Scheme = target.Scheme == Uri.UriSchemeHttps ? "wss" : "ws",
        Path = target.AbsolutePath.TrimEnd('/') + request.Path.ToUriComponent(),
        Query = request.QueryString.HasValue ? request.QueryString.Value![1..] : "",
    }.Uri;
}
