using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Attach.Gateway.Tests.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Attach.Gateway.Tests.Security;

/// <summary>
/// <c>Gateway:Jwt:Authority</c>: the signing keys and the issuer come from the provider's OIDC discovery
/// document, served here by a real HTTP server with an RSA key, as Keycloak or Entra ID would.
/// </summary>
public sealed class OidcDiscoveryTests : IAsyncLifetime
{
    private const string Audience = "attach";
    private readonly RSA _rsa = RSA.Create(2048);
    private WebApplication _provider = null!;
    private Uri _issuer = null!;
    private TwoUsers _users = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _provider = builder.Build();
        var key = _rsa.ExportParameters(includePrivateParameters: false);
        _provider.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = _issuer.ToString(),
            ["jwks_uri"] = new Uri(_issuer, "jwks").ToString(),
        }));
        _provider.MapGet("/jwks", () => Results.Json(new
        {
            keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = "k1", n = Base64UrlEncoder.Encode(key.Modulus), e = Base64UrlEncoder.Encode(key.Exponent) } },
        }));
        await _provider.StartAsync();
        _issuer = new Uri(_provider.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");
        _users = await TwoUsers.StartAsync();
        _gateway = new GatewayFactory(_users.Settings(
            ("Gateway:Jwt:Authority", _issuer.ToString()),
            ("Gateway:Jwt:Audience", Audience),
            ("Gateway:Jwt:RequireHttpsMetadata", "false"),
            ("Gateway:Jwt:UserClaim", "email")));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _users.DisposeAsync();
        await _provider.DisposeAsync();
        _rsa.Dispose();
    }

    private static string Token(RSA signer, string issuer, string name = "bob")
    {
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = Audience,
            Claims = new Dictionary<string, object> { ["email"] = name, ["preferred_username"] = "ada" },
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(5),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(signer) { KeyId = "k1" }, SecurityAlgorithms.RsaSha256),
        });
    }

    private async Task<HttpStatusCode> StatusAsync(string path, string jwt)
    {
        using var client = _gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", jwt);
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    [Fact]
    public async Task ATokenSignedWithTheProvidersKey_IsAccepted_AndTheConfiguredClaimNamesTheUser()
    {
        Assert.Equal(HttpStatusCode.OK, await StatusAsync("/user/bob/api/status", Token(_rsa, _issuer.ToString())));
        // preferred_username says ada, but Gateway:Jwt:UserClaim is email: the token is bob's.
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync("/user/ada/api/status", Token(_rsa, _issuer.ToString())));
    }

    [Fact]
    public async Task AnotherKeyOrIssuer_IsRefused()
    {
        using var other = RSA.Create(2048);

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync("/user/bob/api/status", Token(other, _issuer.ToString())));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync("/user/bob/api/status", Token(_rsa, "https://other-issuer.example/")));
        Assert.Empty(_users.BobJupyter.Requests);
    }
}
