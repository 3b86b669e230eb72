using System.Security.Claims;

namespace Attach.Gateway.Security;

/// <summary>The principal every scheme of the gateway produces: the user's name, and the admin role if they have it.</summary>
internal static class UserPrincipal
{
    public const string AdminRole = "admin";

    public static ClaimsPrincipal For(string name, bool admin, string scheme)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name) };
        if (admin)
        {
            claims.Add(new Claim(ClaimTypes.Role, AdminRole));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }
}
