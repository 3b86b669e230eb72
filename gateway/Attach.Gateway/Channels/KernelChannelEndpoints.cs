using System.Text.RegularExpressions;

namespace Attach.Gateway.Channels;

/// <summary>Maps <c>/api/kernels/{kernelId}/channels</c> to the relay, ahead of the proxy's catch-all.</summary>
internal static partial class KernelChannelEndpoints
{
    public static IEndpointRouteBuilder MapKernelChannels(this IEndpointRouteBuilder app)
    {
        app.Map("/api/kernels/{kernelId}/channels", async (HttpContext context, string kernelId, KernelChannelRelay relay) =>
        {
            if (!KernelId().IsMatch(kernelId))
            {
                await Results.Problem("Not a kernel id: use the id Jupyter gave the kernel.", statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
                return;
            }

            await relay.RunAsync(context, kernelId);
        });
        return app;
    }

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,128}\z", RegexOptions.CultureInvariant)]
    private static partial Regex KernelId();
}
