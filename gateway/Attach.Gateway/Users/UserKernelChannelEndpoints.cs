using System.Text.RegularExpressions;
using Attach.Gateway.Channels;

namespace Attach.Gateway.Users;

/// <summary>
/// Multi-user mode: <c>/user/{name}/api/kernels/{kernelId}/channels</c> to the relay, which connects to that
/// user's Jupyter Server. The route guard has already refused anyone but the owner of the prefix.
/// </summary>
internal static partial class UserKernelChannelEndpoints
{
    public static IEndpointRouteBuilder MapUserKernelChannels(this IEndpointRouteBuilder app)
    {
        if (!app.ServiceProvider.GetRequiredService<UserDirectory>().IsMultiUser)
        {
            return app;
        }

        app.Map(UserPaths.Root + "/{userName}/api/kernels/{kernelId}/channels", async (HttpContext context, string userName, string kernelId, KernelChannelRelay relay, UserDirectory users) =>
        {
            if (!KernelId().IsMatch(kernelId))
            {
                await Results.Problem("Not a kernel id: use the id Jupyter gave the kernel.", statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
                return;
            }

            // Defence in depth: the guard runs first, but the channel must never open on another user's server.
            if (users.Find(userName) is not { } owner || !string.Equals(owner.Name, context.User.Identity?.Name, StringComparison.Ordinal))
            {
                await Results.Problem("This kernel belongs to another user.", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(context);
                return;
            }

            await relay.RunAsync(context, kernelId, owner.Jupyter.Url, owner.Jupyter.Token);
        });
        return app;
    }

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,128}\z", RegexOptions.CultureInvariant)]
    private static partial Regex KernelId();
}
