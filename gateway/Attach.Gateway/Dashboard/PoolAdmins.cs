using System.Security.Claims;
using Attach.Gateway.Security;
using Attach.Gateway.Users;
using Microsoft.Extensions.Options;

namespace Attach.Gateway.Dashboard;

/// <summary>
/// Who sees the whole pool (every slice's holder, the queue, every kernel): the user names in
/// <c>Gateway:Admins</c>, and in multi-user mode the users the users file marks <c>"admin": true</c> (every
/// sign-in scheme carries that flag as the <c>admin</c> role). The one user of single-user mode also carries
/// the role, but the pool may be shared with other gateways, so there only <c>Gateway:Admins</c> counts.
/// </summary>
internal sealed class PoolAdmins(IOptionsMonitor<GatewayOptions> options, UserDirectory users)
{
    public bool IsAdmin(ClaimsPrincipal user) =>
        user.Identity?.Name is { Length: > 0 } name
        && (options.CurrentValue.Admins.Contains(name, StringComparer.Ordinal)
            || (users.IsMultiUser && user.IsInRole(UserPrincipal.AdminRole) && users.Find(name) is { Admin: true }));
}
