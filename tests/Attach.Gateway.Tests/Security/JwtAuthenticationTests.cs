using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Attach.Gateway.Tests.Hosting;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Attach.Gateway.Tests.Security;

/// <summary>JWT bearer tokens signed here with a configured key: only a valid token naming a known user gets through.</summary>
public sealed class JwtAuthenticationTests : IAsyncLifetime
{
    private const string Audience = "attach-gateway";
    private const string Issuer = "https://id.example.test/";
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private TwoUsers _users = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _users = await TwoUsers.StartAsync();
        _gateway = new GatewayFactory(_users.Settings(
            ("Gateway:Jwt:SigningKey", Convert.ToBase64String(_key)),
            ("Gateway:Jwt:Audience", Audience),
            ("Gateway:Jwt:Issuer", Issuer),
            ("Gateway:Jwt:UserClaim", "preferred_username")));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _users.DisposeAsync();
    }

    private string Token(string? user = "ada", string audience = Audience, TimeSpan? lifetime = null, byte[]? key = null, string issuer = Issuer)
    {
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        var expires = now + (lifetime ?? TimeSpan.FromMinutes(5));
        var claims = new Dictionary<string, object> { ["sub"] = Guid.NewGuid().ToString() };
        if (user is not null)
        {
            claims["preferred_username"] = user;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = expires < now ? expires.AddMinutes(-10) : now,
            NotBefore = expires < now ? expires.AddMinutes(-10) : now,
            Expires = expires,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key ?? _key), SecurityAlgorithms.HmacSha256),
        });
    }

    private async Task<HttpResponseMessage> GetAsync(string path, string jwt, string scheme = "Bearer")
    {
        using var client = _gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(scheme, jwt);
        return await client.GetAsync(path);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("token")]
    public async Task AValidToken_OpensTheNamedUsersServer(string scheme)
    {
        using var response = await GetAsync("/user/ada/api/status", Token(), scheme);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ada-jupyter", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("backend").GetString());
    }

    [Fact]
    public async Task AValidTokenInTheQuery_Works()
    {
        using var client = _gateway.CreateClient();

        using var response = await client.GetAsync("/user/bob/api/status?token=" + Token("bob"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AValidToken_StillOpensOnlyItsOwnUsersPrefix()
    {
        using var response = await GetAsync("/user/bob/api/status", Token("ada"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_users.BobJupyter.Requests);
    }

    public static TheoryData<string> BadTokens => ["expired", "wrong audience", "wrong key", "wrong issuer", "no user claim", "unknown user", "tampered"];

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task ABadToken_Is401_AndNoBackendIsTouched(string kind)
    {
        var jwt = kind switch
        {
            "expired" => Token(lifetime: TimeSpan.FromMinutes(-5)),
            "wrong audience" => Token(audience: "some-other-app"),
            "wrong key" => Token(key: RandomNumberGenerator.GetBytes(32)),
            "wrong issuer" => Token(issuer: "https://evil.example/"),
            "no user claim" => Token(user: null),
            "unknown user" => Token("mallory"),
            "tampered" => Tamper(Token("ada")),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        using var response = await GetAsync("/user/ada/api/status", jwt);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.All(_users.Backends, b => Assert.Empty(b.Requests));
    }

    /// <summary>Swaps the payload for one naming bob, keeping ada's signature.</summary>
    private string Tamper(string jwt)
    {
        var parts = jwt.Split('.');
        var other = Token("bob").Split('.');
        return $"{parts[0]}.{other[1]}.{parts[2]}";
    }

    [Fact]
    public async Task TheUsersFileTokens_KeepWorkingAlongsideJwt()
    {
        using var response = await GetAsync("/user/ada/api/status", _users.AdaToken, "token");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(ClaimTypes.Name);
    }
}
