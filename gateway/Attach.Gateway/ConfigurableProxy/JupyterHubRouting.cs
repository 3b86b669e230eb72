using System.Text.RegularExpressions;
using Attach.Gateway.Channels;
using Attach.Gateway.Pages;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Attach.Gateway.ConfigurableProxy;

/// <summary>
/// What the public port does for JupyterHub beyond plain proxying, as configurable-http-proxy does it:
/// <c>/_chp_healthz</c>; the badge's script for browsers without a gateway identity; the kernel channels of a route whose data names a user go through the relay (GPU holds)
/// for that user; <c>{route}/.attach/identity</c> gives the browser the gateway identity of that user when the route's
/// server accepts its credentials (<see cref="JupyterHubIdentity"/>); an interrupt the user's server accepted also aborts that user's held cells; every WebSocket
/// frame on a route counts as its activity; a server that does not answer gets a 503 page (or the error target's).
/// Only when the configurable-http-proxy API is on; before the gateway's authentication, since none of this is its.
/// </summary>
internal static partial class JupyterHubRouting
{
    /// <summary>configurable-http-proxy's health check on its public port (since 4.5): 200 <c>{"status": "OK"}</c>.</summary>
    public const string HealthPath = "/_chp_healthz";

    /// <summary>The badge's script, which the gateway injects into the pages of JupyterHub's routes.</summary>
    public const string BadgeScriptPath = StaticAssets.RequestPath + "/badge.js";

    public static IApplicationBuilder UseJupyterHubRoutes(this IApplicationBuilder app)
    {
        if (app.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value.ConfigurableProxy.Port is null)
        {
            return app;
        }

        return app.Use(async (context, next) =>
        {
            var request = context.Request;
            if (request.Path.Equals(HealthPath, StringComparison.Ordinal) && !request.QueryString.HasValue)
            {
                // As configurable-http-proxy: exactly this URL, whatever the routes.
                await Results.Json(new { status = "OK" }).ExecuteAsync(context);
                return;
            }

            if ((HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) && request.Path.Equals(BadgeScriptPath, StringComparison.Ordinal))
            {
                // The badge goes into the pages of JupyterHub's routes too, whose browsers have no gateway identity
                // until the badge gets one (JupyterHubIdentity). The script is the same built file for everyone and
                // holds no user's data, so it is served to them; the rest of /attach/static/ keeps the authentication.
                await context.RequestServices.GetRequiredService<StaticAssets>().Serve("badge.js", context).ExecuteAsync(context);
                return;
            }

            if (ProxyRouteTable.RouteOf(context) is not { } route)
            {
                await next(context);
                return;
            }

            var services = context.RequestServices;
            var rest = route.Prefix == "/" ? request.Path.Value ?? "" : (request.Path.Value ?? "")[route.Prefix.Length..];
            if (route.User is { } named && rest.Equals(JupyterHubIdentity.Path, StringComparison.Ordinal))
            {
                await services.GetRequiredService<JupyterHubIdentity>().RunAsync(context, route, named);
                return;
            }

            if (route.User is { } user && context.WebSockets.IsWebSocketRequest && KernelChannel().Match(rest) is { Success: true } channel)
            {
                await services.GetRequiredService<JupyterHubKernelChannel>().RunAsync(context, route, user, channel.Groups["kernel"].Value);
                return;
            }

            var table = services.GetRequiredService<ProxyRouteTable>();
            if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
            {
                context.Features.Set<IHttpUpgradeFeature>(new ActivityUpgradeFeature(upgrade, () => table.Touch(route.Prefix)));
            }

            await next(context);

            if (context.Features.Get<IForwarderErrorFeature>() is { } error && !context.Response.HasStarted)
            {
                Log.HubRouteUnreachable(services.GetRequiredService<ILogger<JupyterHubKernelChannel>>(), route.Prefix, error.Exception?.Message ?? error.Error.ToString());
                await services.GetRequiredService<ProxyErrorPage>().WriteAsync(context, StatusCodes.Status503ServiceUnavailable);
                return;
            }

            // The toolbar's interrupt is an HTTP POST, and a held cell has not reached the kernel: once the user's
            // server has accepted the interrupt (so the caller may interrupt that kernel), the held cells go too.
            if (route.User is { } owner && HttpMethods.IsPost(request.Method) && context.Response.StatusCode is >= 200 and < 300
                && Interrupt().Match(rest) is { Success: true } interrupt)
            {
                var kernelId = interrupt.Groups["kernel"].Value;
                var reached = services.GetRequiredService<KernelChannelRelay>().InterruptKernel(kernelId, owner);
                Log.HubInterruptForwarded(services.GetRequiredService<ILogger<JupyterHubKernelChannel>>(), route.Prefix, kernelId, owner, reached.Channels);
            }
        });
    }

    [GeneratedRegex(@"\A/api/kernels/(?<kernel>[A-Za-z0-9._-]{1,128})/channels/?\z", RegexOptions.CultureInvariant)]
    private static partial Regex KernelChannel();

    [GeneratedRegex(@"\A/api/kernels/(?<kernel>[A-Za-z0-9._-]{1,128})/interrupt/?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Interrupt();
}
