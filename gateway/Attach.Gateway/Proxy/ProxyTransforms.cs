using System.Net.Http.Headers;
using Attach.Contracts.Http;
using Attach.Gateway.Security;
using Attach.ServiceDefaults.Security;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms;

namespace Attach.Gateway.Proxy;

/// <summary>
/// What the gateway changes on the way through. Nothing the user authenticated with reaches a backend:
/// the token query parameter and the session cookie are removed, and each backend gets its own
/// credential (the Jupyter token; the internal key plus the user's name for the broker).
/// </summary>
internal static class ProxyTransforms
{
    public static IReverseProxyBuilder AddAttachTransforms(this IReverseProxyBuilder proxy) =>
        proxy.AddTransforms(context =>
        {
            context.AddQueryRemoveKey(GatewayAuthDefaults.TokenQuery);
            context.AddRequestHeaderRemove(AttachHeaders.User);
            var services = context.Services;
            if (context.Route.ClusterId == ProxyRoutes.JupyterCluster)
            {
                var jupyterToken = services.GetRequiredService<IOptions<GatewayOptions>>().Value.JupyterToken;
                // The browser's Host, so Jupyter builds redirects and absolute URLs for the gateway's address.
                context.CopyRequestHeaders = true;
                context.AddOriginalHost(useOriginal: true);
                context.AddRequestTransform(transform =>
                {
                    transform.ProxyRequest.Headers.Authorization = new AuthenticationHeaderValue("token", jupyterToken);
                    StripSessionCookie(transform);
                    JupyterPageScrubber.RequestIdentityForPages(transform);
                    return ValueTask.CompletedTask;
                });
                context.AddResponseTransform(transform => JupyterPageScrubber.ScrubAsync(transform, jupyterToken));
            }
            else
            {
                var key = services.GetRequiredService<IOptions<InternalKeyOptions>>().Value.InternalKey;
                if (context.Route.Match.Path!.StartsWith(ProxyRoutes.BrokerApiPrefix + "/", StringComparison.Ordinal))
                {
                    context.AddPathRemovePrefix(ProxyRoutes.BrokerApiPrefix);
                }

                context.AddQueryRemoveKey("access_token");
                context.AddRequestTransform(transform =>
                {
                    transform.ProxyRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    transform.ProxyRequest.Headers.Remove("Cookie");
                    transform.ProxyRequest.Headers.Add(AttachHeaders.User, transform.HttpContext.User.Identity!.Name);
                    return ValueTask.CompletedTask;
                });
            }
        });

    private static void StripSessionCookie(RequestTransformContext transform)
    {
        var raw = transform.HttpContext.Request.Headers.Cookie.ToString();
        if (!raw.Contains(GatewayAuthDefaults.CookieName, StringComparison.Ordinal))
        {
            return;
        }

        // Filter the raw pairs rather than re-encoding parsed values: Jupyter's cookies must arrive byte for byte.
        var rest = string.Join("; ", raw.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(pair => !pair.StartsWith(GatewayAuthDefaults.CookieName + "=", StringComparison.Ordinal)));
        transform.ProxyRequest.Headers.Remove("Cookie");
        if (rest.Length > 0)
        {
            transform.ProxyRequest.Headers.TryAddWithoutValidation("Cookie", rest);
        }
    }
}
