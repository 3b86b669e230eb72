using Attach.Gateway.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.IdentityModel.Tokens;

namespace Attach.Gateway.Security;

/// <summary>Registers the gateway's authentication: every route needs a token, a JWT or the session cookie.</summary>
internal static class GatewayAuthenticationExtensions
{
    public static WebApplicationBuilder AddGatewayAuthentication(this WebApplicationBuilder builder, GatewayOptions gateway)
    {
        var keys = gateway.KeysDirectory;
        var dataProtection = builder.Services.AddDataProtection().SetApplicationName("Attach.Gateway");
        if (!string.IsNullOrEmpty(keys))
        {
            dataProtection.PersistKeysToFileSystem(new DirectoryInfo(keys));
        }

        var jwt = gateway.Jwt;
        var authentication = builder.Services.AddAuthentication(GatewayAuthDefaults.Scheme)
            .AddPolicyScheme(GatewayAuthDefaults.Scheme, "Token, JWT or session cookie", o =>
                o.ForwardDefaultSelector = context => TokenAuthenticationHandler.Presented(context.Request) is { } token
                    ? jwt.Enabled && LooksLikeJwt(token) ? GatewayAuthDefaults.JwtScheme : GatewayAuthDefaults.TokenScheme
                    : context.Request.Cookies.ContainsKey(GatewayAuthDefaults.CookieName)
                        ? GatewayAuthDefaults.CookieScheme
                        : GatewayAuthDefaults.TokenScheme)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(GatewayAuthDefaults.TokenScheme, null)
            .AddCookie(GatewayAuthDefaults.CookieScheme, o =>
            {
                o.Cookie.Name = GatewayAuthDefaults.CookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromDays(7);
                o.SlidingExpiration = true;
                // An expired cookie gets the token scheme's 401 explanation, which links to the login page.
                o.ForwardChallenge = GatewayAuthDefaults.TokenScheme;
                o.ForwardForbid = GatewayAuthDefaults.TokenScheme;
            });
        if (jwt.Enabled)
        {
            authentication.AddJwtBearer(GatewayAuthDefaults.JwtScheme, o => ConfigureJwt(o, jwt));
        }

        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(GatewayAuthDefaults.Scheme).RequireAuthenticatedUser().Build());
        builder.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "attach_login_csrf";
            o.FormFieldName = LoginPage.CsrfField;
        });
        return builder;
    }

    /// <summary>A compact JWS: three base64url parts, the first a JSON header (<c>eyJ</c> is <c>{"</c>).</summary>
    internal static bool LooksLikeJwt(string token) =>
        token.StartsWith("eyJ", StringComparison.Ordinal) && token.Count(c => c == '.') == 2;

    private static void ConfigureJwt(JwtBearerOptions o, JwtOptions jwt)
    {
        o.Authority = jwt.Authority?.ToString();
        o.Audience = jwt.Audience;
        o.RequireHttpsMetadata = jwt.RequireHttpsMetadata;
        // Claims keep the names the provider gave them, so UserClaim means what the provider's docs say.
        o.MapInboundClaims = false;
        o.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = jwt.Authority is not null || jwt.Issuer is not null,
            ValidIssuer = jwt.Issuer,
            ValidateAudience = true,
            ValidAudience = jwt.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = jwt.ClockSkew,
            NameClaimType = jwt.UserClaim,
        };
        if (!string.IsNullOrEmpty(jwt.SigningKey))
        {
            o.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(Convert.FromBase64String(jwt.SigningKey));
        }

        o.Events = new JwtBearerEvents
        {
            // The same places Jupyter clients put a token: Authorization: token/Bearer, or ?token=.
            OnMessageReceived = context =>
            {
                context.Token = TokenAuthenticationHandler.Presented(context.Request);
                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                var users = context.HttpContext.RequestServices.GetRequiredService<UserDirectory>();
                var name = context.Principal?.FindFirst(jwt.UserClaim)?.Value;
                if (string.IsNullOrEmpty(name) || !UsersFile.UserName().IsMatch(name))
                {
                    context.Fail($"The token has no usable '{jwt.UserClaim}' claim (Gateway:Jwt:UserClaim) naming the user.");
                }
                else if (users.Find(name) is not { } user)
                {
                    context.Fail($"'{name}' is not a user of this gateway: add them to Gateway:UsersFile.");
                }
                else
                {
                    context.Principal = UserPrincipal.For(user.Name, user.Admin, GatewayAuthDefaults.JwtScheme);
                }

                return Task.CompletedTask;
            },
        };
    }
}
