using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Extensions;

namespace Attach.Gateway.Security;

/// <summary>
/// A browser that opens <c>…?token=…</c> gets a session cookie and is redirected to the same URL without
/// the token, so the token leaves the address bar, the history and Referer headers.
/// </summary>
internal static class TokenLoginMiddleware
{
    public static IApplicationBuilder UseTokenLogin(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            if (HttpMethods.IsGet(request.Method)
                && !context.WebSockets.IsWebSocketRequest
                && request.Query.ContainsKey(GatewayAuthDefaults.TokenQuery)
                && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
            {
                var result = await context.AuthenticateAsync(GatewayAuthDefaults.TokenScheme);
                if (result.Succeeded)
                {
                    await context.SignInAsync(GatewayAuthDefaults.CookieScheme, result.Principal!);
                    var query = QueryString.Create(request.Query
                        .Where(q => q.Key != GatewayAuthDefaults.TokenQuery)
                        .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v))));
                    context.Response.Redirect(UriHelper.BuildRelative(request.PathBase, request.Path, query));
                    return;
                }
            }

            await next(context);
        });
}
