using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
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
}
