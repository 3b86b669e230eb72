using System.Net.Http.Headers;
using Attach.Contracts.Http;
using Attach.Gateway.ConfigurableProxy;
using Attach.Gateway.Security;
using Attach.Gateway.Users;
using Attach.ServiceDefaults.Security;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms;

namespace Attach.Gateway.Proxy;

/// <summary>
/// What the gateway changes on the way through. Nothing the user authenticated with reaches a backend:
/// the token query parameter and the session cookie are removed, and each backend gets its own
/// credential (the user's Jupyter token; the internal key plus the user's name for the broker).
/// Routes JupyterHub added are forwarded as configurable-http-proxy would, untouched.
/// </summary>
internal static class ProxyTransforms
{
    public static IReverseProxyBuilder AddAttachTransforms(this IReverseProxyBuilder proxy) =>
        proxy.AddTransforms(context =>
        {
            var metadata = context.Route.Metadata;
            var backend = metadata?.GetValueOrDefault(ProxyRoutes.BackendKey);
            var services = context.Services;
            if (backend == ProxyRoutes.BackendJupyterHub)
            {
                ProxyRouteTable.AddJupyterHubTransforms(context);
                return;
            }

            context.AddQueryRemoveKey(GatewayAuthDefaults.TokenQuery);
            context.AddRequestHeaderRemove(AttachHeaders.User);
            switch (backend)
            {
                case ProxyRoutes.BackendJupyter:
                    var users = services.GetRequiredService<UserDirectory>();
                    var owner = metadata!.GetValueOrDefault(ProxyRoutes.UserKey);
                    var jupyterToken = (owner is null ? users.Users.Single() : users.Find(owner)!).Jupyter.Token;
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
                    break;
                case ProxyRoutes.BackendCodeServer:
                    // code-server compares Origin with Host on its WebSockets, and must not see the prefix (its docs).
                    context.AddOriginalHost(useOriginal: true);
                    context.AddPathRemovePrefix(metadata![ProxyRoutes.StripPrefixKey]);
                    context.AddRequestTransform(transform =>
                    {
                        StripSessionCookie(transform);
                        transform.ProxyRequest.Headers.Authorization = null;
                        return ValueTask.CompletedTask;
                    });
                    break;
                default:
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
                    break;
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
