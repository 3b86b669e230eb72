namespace Attach.Gateway.Security;

/// <summary>
/// The gateway authenticates to the Jupyter Server with its token, which switches off Jupyter's own
/// origin and XSRF checks; so the gateway does them for cookie-authenticated browsers: a state-changing
/// request or WebSocket upgrade whose Origin is another site is refused.
/// </summary>
internal static class SameOriginMiddleware
{
    public static IApplicationBuilder UseSameOriginForCookies(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            var unsafeRequest = context.WebSockets.IsWebSocketRequest
                || !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method));
            if (unsafeRequest
                && request.Cookies.ContainsKey(GatewayAuthDefaults.CookieName)
                && TokenAuthenticationHandler.Presented(request) is null
                && request.Headers.Origin.ToString() is { Length: > 0 } origin
                && (!Uri.TryCreate(origin, UriKind.Absolute, out var originUri)
                    || !string.Equals(originUri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)))
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await context.Response.WriteAsync("Cross-origin request refused: open Attach from its own address.");
                return;
            }

            await next(context);
        });
}
