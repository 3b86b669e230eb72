using Attach.Contracts.Hubs;
using Attach.Gateway.ConfigurableProxy;
using Attach.Gateway.Proxy;
using Attach.Gateway.Security;

namespace Attach.Gateway.Users;

/// <summary>
/// Multi-user mode: a user reaches only <c>/user/{their name}/</c>. Any other user's prefix, existing or not,
/// gets the same 403 before any backend is touched (so the answer tells nobody which users exist); paths
/// outside every user's prefix that belong to no gateway feature get a 404 that says where to go.
/// </summary>
internal static class UserRouteGuard
{
    public static IApplicationBuilder UseUserRouteGuard(this IApplicationBuilder app)
    {
        var users = app.ApplicationServices.GetRequiredService<UserDirectory>();
        if (!users.IsMultiUser)
        {
            return app;
        }

        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(UserRouteGuard));
        return app.Use(async (context, next) =>
        {
            var user = context.User.Identity?.IsAuthenticated == true ? context.User.Identity.Name : null;
            if (user is null || ProxyRouteTable.IsRoutedByJupyterHub(context))
            {
                // Not signed in: authorization has already challenged (or the route is anonymous by design).
                await next(context);
                return;
            }

            var path = context.Request.Path;
            if (UserPaths.UserOf(path) is { } owner)
            {
                if (!string.Equals(owner, user, StringComparison.Ordinal))
                {
                    Log.OtherUsersRouteRefused(logger, user, context.Request.Method);
                    await Results.Problem("This address belongs to another user; yours starts with " + UserPaths.PrefixOf(user) + ".", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(context);
                    return;
                }

                if (path.Equals(UserPaths.PrefixOf(user) + UserPaths.CodeServerSegment, StringComparison.Ordinal))
                {
                    // code-server resolves its assets relative to the page: it must be opened with the trailing slash.
                    context.Response.Redirect(path + "/" + context.Request.QueryString);
                    return;
                }
            }
            else if (path == "/")
            {
                context.Response.Redirect(UserPaths.PrefixOf(user));
                return;
            }
            else if (!IsGatewayPath(path))
            {
                await Results.Problem($"Nothing is served here in multi-user mode: your server is at {UserPaths.PrefixOf(user)}.", statusCode: StatusCodes.Status404NotFound).ExecuteAsync(context);
                return;
            }
            else if (KernelOwnership.KernelOf(path) is { } kernelId)
            {
                var ownership = context.RequestServices.GetRequiredService<KernelOwnership>();
                bool owned;
                try
                {
                    owned = await ownership.IsOwnedByAsync(user, kernelId, context.RequestAborted);
                }
                catch (HttpRequestException ex)
                {
                    await Results.Problem($"Your Jupyter Server could not be asked whether kernel {kernelId} is yours ({ex.Message}); try again when it runs.", statusCode: StatusCodes.Status502BadGateway).ExecuteAsync(context);
                    return;
                }

                if (!owned)
                {
                    Log.OtherUsersKernelRefused(logger, user, kernelId);
                    await Results.Problem($"Kernel {kernelId} is not one of yours.", statusCode: StatusCodes.Status404NotFound).ExecuteAsync(context);
                    return;
                }
            }

            await next(context);
        });
    }

    private static bool IsGatewayPath(PathString path) =>
        path.StartsWithSegments(ProxyRoutes.BrokerApiPrefix, StringComparison.Ordinal)
        || path.StartsWithSegments(AttachHubProtocol.Path, StringComparison.Ordinal)
        || path.StartsWithSegments(LoginPage.Path, StringComparison.Ordinal);
}
