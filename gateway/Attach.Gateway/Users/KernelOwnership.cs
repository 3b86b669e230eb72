using System.Net;
using System.Net.Http.Headers;
using Attach.Gateway.Proxy;

namespace Attach.Gateway.Users;

/// <summary>
/// Multi-user mode: the broker API about one kernel (<c>/attach/api/v1/kernels/{id}/…</c>) is forwarded only
/// when the kernel runs on the caller's own Jupyter Server. The broker enforces ownership of kernels it
/// knows, but registers a kernel it has not seen yet to whoever names it first; without this check a user
/// who learned another's kernel id could claim it before its owner's first cell.
/// </summary>
internal sealed class KernelOwnership(IHttpClientFactory http, UserDirectory users)
{
    public const string HttpClientName = "jupyter-ownership";
    private const string KernelsPrefix = ProxyRoutes.BrokerApiPrefix + "/api/v1/kernels";

    /// <summary>The kernel id a broker-API path is about, if any.</summary>
    public static string? KernelOf(PathString path)
    {
        if (!path.StartsWithSegments(KernelsPrefix, StringComparison.Ordinal, out var rest) || !rest.HasValue || rest.Value!.Length < 2)
        {
            return null;
        }

        var value = rest.Value!;
        var end = value.IndexOf('/', 1);
        return end < 0 ? value[1..] : value[1..end];
    }

    /// <summary>True when <paramref name="kernelId"/> is a kernel of <paramref name="user"/>'s own Jupyter Server.</summary>
    public async Task<bool> IsOwnedByAsync(string user, string kernelId, CancellationToken cancellationToken)
    {
        if (users.Find(user) is not { } owner)
        {
            return false;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(owner.Jupyter.Url, $"api/kernels/{Uri.EscapeDataString(kernelId)}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("token", owner.Jupyter.Token);
        using var response = await http.CreateClient(HttpClientName).SendAsync(request, cancellationToken);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            _ => throw new HttpRequestException($"the Jupyter Server answered {(int)response.StatusCode}", null, response.StatusCode),
        };
    }
}
