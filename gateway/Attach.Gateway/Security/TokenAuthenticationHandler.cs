using System.Text.Encodings.Web;
using Attach.Gateway.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Attach.Gateway.Security;

/// <summary>
/// Authenticates the user's token the ways Jupyter clients send it: <c>Authorization: token …</c>
/// (Jupyter's own form, used by VS Code and PyCharm), <c>Authorization: Bearer …</c>, or <c>?token=…</c>.
/// </summary>
internal sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    UserDirectory users)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The token the request carries, if any.</summary>
    internal static string? Presented(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        foreach (var prefix in (ReadOnlySpan<string>)["token ", "Bearer "])
        {
            if (header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return header[prefix.Length..].Trim();
            }
        }

        var query = request.Query[GatewayAuthDefaults.TokenQuery].ToString();
        return string.IsNullOrEmpty(query) ? null : query;
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Presented(Request);
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (users.Authenticate(presented, UserPaths.UserOf(Request.Path)) is not { } user)
        {
            return Task.FromResult(AuthenticateResult.Fail("The token is not valid."));
        }

        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(UserPrincipal.For(user.Name, user.Admin, GatewayAuthDefaults.TokenScheme), GatewayAuthDefaults.TokenScheme)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "token";
        var html = Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
        Response.ContentType = html ? "text/html; charset=utf-8" : "application/problem+json";
        await Response.WriteAsync(html
            ? $"<!doctype html><title>Attach: sign in</title><p>This Attach gateway needs a token. <a href=\"{LoginPage.Path}\">Sign in</a>, open the URL that <code>make run</code> printed (it ends in <code>?token=…</code>), or send <code>Authorization: token …</code>.</p>"
            : """{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.2","title":"Unauthorized","status":401,"detail":"Send the gateway token as 'Authorization: token <token>' or '?token=<token>' (make run prints it)."}""");
    }
}
