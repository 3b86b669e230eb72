using System.Net;
using Attach.Gateway.Users;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;

namespace Attach.Gateway.Security;

/// <summary>
/// <c>/attach/login</c>: a form for browsers that takes the user's token, sets the session cookie and sends
/// the user to their server. The form carries an antiforgery token (a site cannot log a victim into the
/// attacker's account); a wrong token gets one message whatever the reason, so the page tells nobody
/// which users exist.
/// </summary>
internal static class LoginPage
{
    public const string Path = "/attach/login";
    public const string CsrfField = "__attach_csrf";
    public const string TokenField = "token";
    public const string NextField = "next";

    public static IEndpointRouteBuilder MapLoginPage(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, (HttpContext context, IAntiforgery antiforgery, string? next) =>
                Page(context, antiforgery, next, error: null, StatusCodes.Status200OK))
            .AllowAnonymous();
        app.MapPost(Path, async (HttpContext context, IAntiforgery antiforgery, UserDirectory users) =>
            {
                if (!context.Request.HasFormContentType)
                {
                    return Results.Problem("Post the login form (application/x-www-form-urlencoded).", statusCode: StatusCodes.Status415UnsupportedMediaType);
                }

                var form = await context.Request.ReadFormAsync(context.RequestAborted);
                var next = form[NextField].ToString();
                if (!await antiforgery.IsRequestValidAsync(context))
                {
                    return Page(context, antiforgery, next, "The form expired or came from another site. Sign in again.", StatusCodes.Status400BadRequest);
                }

                var token = form[TokenField].ToString().Trim();
                if (token.Length == 0 || users.Authenticate(token, hint: null) is not { } user)
                {
                    return Page(context, antiforgery, next, "That token is not valid.", StatusCodes.Status401Unauthorized);
                }

                await context.SignInAsync(GatewayAuthDefaults.CookieScheme, UserPrincipal.For(user.Name, user.Admin, GatewayAuthDefaults.CookieScheme));
                return Results.Redirect(IsLocal(next) ? next : user.Prefix);
            })
            .AllowAnonymous()
            .DisableAntiforgery();
        return app;
    }

    /// <summary>Only paths on this site: <c>//evil.example</c> and <c>/\evil.example</c> are other sites to a browser.</summary>
    internal static bool IsLocal(string? next) =>
        !string.IsNullOrEmpty(next) && next[0] == '/' && (next.Length == 1 || (next[1] != '/' && next[1] != '\\'));

    private static IResult Page(HttpContext context, IAntiforgery antiforgery, string? next, string? error, int status)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";
        var message = error is null ? "" : $"<p role=\"alert\" style=\"color:#b00020\">{WebUtility.HtmlEncode(error)}</p>";
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Attach: sign in</title>
            <meta name="viewport" content="width=device-width, initial-scale=1"></head>
            <body style="font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto">
            <h1>Sign in to Attach</h1>
            {message}
            <form method="post" action="{Path}">
            <input type="hidden" name="{CsrfField}" value="{WebUtility.HtmlEncode(tokens.RequestToken)}">
            <input type="hidden" name="{NextField}" value="{WebUtility.HtmlEncode(IsLocal(next) ? next : "")}">
            <label for="token">Your token</label><br>
            <input id="token" name="{TokenField}" type="password" autocomplete="current-password" required style="width:100%">
            <p><button type="submit">Sign in</button></p>
            </form>
            </body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }
}
