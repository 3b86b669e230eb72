using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;

namespace Attach.Gateway.Security;

/// <summary>Registers the gateway's authentication: every route needs the token or the session cookie.</summary>
internal static class GatewayAuthenticationExtensions
{
    public static WebApplicationBuilder AddGatewayAuthentication(this WebApplicationBuilder builder)
    {
        var keys = builder.Configuration[$"{GatewayOptions.Section}:{nameof(GatewayOptions.KeysDirectory)}"];
        var dataProtection = builder.Services.AddDataProtection().SetApplicationName("Attach.Gateway");
        if (!string.IsNullOrEmpty(keys))
        {
            dataProtection.PersistKeysToFileSystem(new DirectoryInfo(keys));
        }

        builder.Services.AddAuthentication(GatewayAuthDefaults.Scheme)
            .AddPolicyScheme(GatewayAuthDefaults.Scheme, "Token or session cookie", o =>
                o.ForwardDefaultSelector = context => TokenAuthenticationHandler.Presented(context.Request) is not null
                    || !context.Request.Cookies.ContainsKey(GatewayAuthDefaults.CookieName)
                        ? GatewayAuthDefaults.TokenScheme
                        : GatewayAuthDefaults.CookieScheme)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(GatewayAuthDefaults.TokenScheme, null)
            .AddCookie(GatewayAuthDefaults.CookieScheme, o =>
            {
                o.Cookie.Name = GatewayAuthDefaults.CookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromDays(7);
                o.SlidingExpiration = true;
                // No login page to redirect to: an expired cookie gets the token scheme's 401 explanation.
                o.ForwardChallenge = GatewayAuthDefaults.TokenScheme;
                o.ForwardForbid = GatewayAuthDefaults.TokenScheme;
            });
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(GatewayAuthDefaults.Scheme).RequireAuthenticatedUser().Build());
        return builder;
    }
}
