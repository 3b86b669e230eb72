using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Attach.Contracts.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Attach.ServiceDefaults.Security;

/// <summary>
/// Authenticates service-to-service calls by <c>Authorization: Bearer {internal key}</c>. The caller may
/// name the user it acts for in <see cref="AttachHeaders.User"/>; only a holder of the key can do so.
/// </summary>
internal sealed class InternalKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<InternalKeyOptions> keyOptions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(keyOptions.Value.InternalKey);

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = ReadBearer(Request.Headers.Authorization.ToString())
            // SignalR's browser and .NET clients send the token in the query string on WebSocket requests.
            ?? (Request.Path.StartsWithSegments("/hubs", StringComparison.Ordinal) ? Request.Query["access_token"].ToString() : null);
        if (string.IsNullOrEmpty(presented))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _key))
        {
            return Task.FromResult(AuthenticateResult.Fail("The internal key does not match."));
        }

        var user = Request.Headers[AttachHeaders.User].ToString();
        if (string.Equals(user, AttachClaims.ServiceUser, StringComparison.OrdinalIgnoreCase))
        {
            // The service's own name is reserved: acting for a user must never grant the service's reach.
            return Task.FromResult(AuthenticateResult.Fail($"'{AttachClaims.ServiceUser}' is reserved and cannot be a user name."));
        }

        var claims = new List<Claim> { new(AttachClaims.Service, "true") };
        claims.Add(new Claim(ClaimTypes.Name, string.IsNullOrEmpty(user) ? AttachClaims.ServiceUser : user));
        var identity = new ClaimsIdentity(claims, InternalKeyDefaults.Scheme);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), InternalKeyDefaults.Scheme)));
    }

    private static string? ReadBearer(string header) =>
        header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
}
