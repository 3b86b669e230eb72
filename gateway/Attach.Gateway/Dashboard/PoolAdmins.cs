using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace Attach.Gateway.Dashboard;

/// <summary>
/// Who sees the whole pool (every slice's holder, the queue, every kernel): the user names in
/// <c>Gateway:Admins</c>. The one place that decides it, so a users file with an admin flag can replace the list here.
/// </summary>
internal sealed class PoolAdmins(IOptionsMonitor<GatewayOptions> options)
{
    public bool IsAdmin(ClaimsPrincipal user) =>
        user.Identity?.Name is { Length: > 0 } name && options.CurrentValue.Admins.Contains(name, StringComparer.Ordinal);
}
