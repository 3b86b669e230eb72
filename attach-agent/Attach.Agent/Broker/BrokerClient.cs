using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;

namespace Attach.Agent.Broker;

/// <summary>The broker's API as the agent uses it. Typed client: the internal key and resilience come from its registration.</summary>
internal sealed class BrokerClient(HttpClient http)
{
    /// <summary>The heartbeat's path relative to the broker URL (see <see cref="BaseUrl.WithTrailingSlash"/>).</summary>
    public static Uri HeartbeatPath(string nodeId) =>
        new(string.Create(CultureInfo.InvariantCulture, $"api/v1/nodes/{Uri.EscapeDataString(nodeId)}/heartbeat"), UriKind.Relative);

    /// <summary>Registers the node (first call) or renews it: <c>POST {BrokerUrl}/api/v1/nodes/{NodeId}/heartbeat</c>.</summary>
    /// <exception cref="HttpRequestException">The broker could not be reached or did not accept the heartbeat.</exception>
    public async Task SendHeartbeatAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        using var response = await http.PostAsJsonAsync(HeartbeatPath(heartbeat.NodeId), heartbeat, JsonSerializerOptions.Web, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                string.Create(CultureInfo.InvariantCulture, $"the broker answered {(int)response.StatusCode} {response.ReasonPhrase}"),
                inner: null,
                response.StatusCode);
        }
    }

    /// <summary>A kernel's path relative to the broker URL, e.g. <c>api/v1/kernels/{kernelId}/release</c>.</summary>
    public static Uri KernelPath(string kernelId, string action) =>
        new(string.Create(CultureInfo.InvariantCulture, $"api/v1/kernels/{Uri.EscapeDataString(kernelId)}/{action}"), UriKind.Relative);

    /// <summary>Asks for a lease for a shim process: <c>POST {BrokerUrl}/api/v1/kernels/{session}/runtime-attach</c>.</summary>
    /// <exception cref="HttpRequestException">The broker could not be reached or did not accept the request.</exception>
    public async Task<RuntimeAttachDecision> RequestRuntimeAttachAsync(string session, RuntimeAttachRequest request, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(KernelPath(session, "runtime-attach"), request, JsonSerializerOptions.Web, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                string.Create(CultureInfo.InvariantCulture, $"the broker answered {(int)response.StatusCode} {response.ReasonPhrase}"),
                inner: null,
                response.StatusCode);
        }

        return await response.Content.ReadFromJsonAsync<RuntimeAttachDecision>(JsonSerializerOptions.Web, cancellationToken)
            ?? throw new HttpRequestException("the broker answered runtime-attach with an empty body");
    }

    /// <summary>Gives back a shim lease or drops a queued request: <c>POST {BrokerUrl}/api/v1/kernels/{session}/release</c>.</summary>
    /// <exception cref="HttpRequestException">The broker could not be reached or did not accept the release.</exception>
    public async Task ReleaseRuntimeAttachAsync(string session, RuntimeReleaseRequest request, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(KernelPath(session, "release"), request, JsonSerializerOptions.Web, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                string.Create(CultureInfo.InvariantCulture, $"the broker answered {(int)response.StatusCode} {response.ReasonPhrase}"),
                inner: null,
                response.StatusCode);
        }
    }
}
