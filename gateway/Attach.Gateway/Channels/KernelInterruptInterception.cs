using System.Text.RegularExpressions;

namespace Attach.Gateway.Channels;

/// <summary>
/// JupyterLab's and Notebook 6's interrupt button does not send <c>interrupt_request</c> on the channel: it sends
/// <c>POST /api/kernels/{id}/interrupt</c>. A cell the gateway holds for a GPU has not reached the kernel, so the
/// kernel's interrupt cannot stop it; this middleware aborts held and queued cells of that kernel first, then lets
/// the request go on to Jupyter through the proxy.
/// </summary>
internal static partial class KernelInterruptInterception
{
    public static IApplicationBuilder UseKernelInterrupts(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (HttpMethods.IsPost(context.Request.Method)
                && InterruptPath().Match(context.Request.Path.Value ?? "") is { Success: true } match
                && context.User.Identity is { IsAuthenticated: true, Name: { } user })
            {
                var kernelId = match.Groups["kernel"].Value;
                var relay = context.RequestServices.GetRequiredService<KernelChannelRelay>();
                var reached = relay.InterruptKernel(kernelId, user);
                var logger = context.RequestServices.GetRequiredService<ILogger<KernelChannelRelay>>();
                if (reached.ParkedCells == 0)
                {
                    Log.InterruptIntercepted(logger, kernelId, reached.Channels);
                }
                else
                {
                    Log.InterruptInterceptedWithParked(logger, kernelId, reached.Channels, reached.ParkedCells);
                }
            }

            await next(context);
        });

    // With or without a per-user prefix (/user/{name}/api/kernels/{id}/interrupt).
    [GeneratedRegex(@"\A(?:/user/[^/]+)?/api/kernels/(?<kernel>[A-Za-z0-9._-]{1,128})/interrupt/?\z", RegexOptions.CultureInvariant)]
    private static partial Regex InterruptPath();
}
