using System.ComponentModel.DataAnnotations;

namespace Attach.Gateway.Security;

/// <summary>
/// JWT bearer tokens from an identity provider (section <c>Gateway:Jwt</c>). Either <see cref="Authority"/>
/// (keys and issuer from its OIDC discovery document) or <see cref="SigningKey"/> (a shared HMAC key) turns it on.
/// </summary>
internal sealed class JwtOptions
{
    /// <summary>The OIDC issuer whose <c>/.well-known/openid-configuration</c> names the signing keys.</summary>
    public Uri? Authority { get; set; }

    /// <summary>The token's expected <c>aud</c>. Required when JWTs are on.</summary>
    public string? Audience { get; set; }

    /// <summary>The token's expected <c>iss</c> (taken from the authority's discovery document when unset).</summary>
    public string? Issuer { get; set; }

    /// <summary>An HMAC-SHA256 key (base64, at least 32 bytes) for providers without discovery.</summary>
    public string? SigningKey { get; set; }

    /// <summary>The claim that names the user: the <c>/user/{name}/</c> prefix and the broker's owner.</summary>
    [Required]
    public string UserClaim { get; set; } = "preferred_username";

    /// <summary>Discovery over plain HTTP only for development.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Leeway for clocks that disagree.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    public bool Enabled => Authority is not null || !string.IsNullOrEmpty(SigningKey);
}
