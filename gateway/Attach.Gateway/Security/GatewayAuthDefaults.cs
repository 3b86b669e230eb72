namespace Attach.Gateway.Security;

/// <summary>Scheme and cookie names of the gateway's authentication.</summary>
internal static class GatewayAuthDefaults
{
    /// <summary>Picks the token or the cookie scheme per request.</summary>
    public const string Scheme = "Attach";

    /// <summary><c>Authorization: token …</c>, <c>Authorization: Bearer …</c> or <c>?token=…</c>.</summary>
    public const string TokenScheme = "AttachToken";

    /// <summary>JWT bearer tokens from an identity provider (<c>Gateway:Jwt</c>).</summary>
    public const string JwtScheme = "AttachJwt";

    /// <summary>The browser session cookie set after a <c>?token=</c> login.</summary>
    public const string CookieScheme = "AttachCookie";

    /// <summary>The cookie's name; it is removed from requests before they are forwarded.</summary>
    public const string CookieName = "attach_session";

    /// <summary>The query parameter clients put the token in.</summary>
    public const string TokenQuery = "token";
}
