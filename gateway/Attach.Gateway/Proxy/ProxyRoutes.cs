using Attach.Contracts.Hubs;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;

namespace Attach.Gateway.Proxy;

/// <summary>
/// The routes YARP serves: the broker's user-facing API under <c>/attach/api/v1</c> and its hub, and
/// everything else to the Jupyter Server. Only the broker routes users may call are forwarded: the node
/// heartbeat API, for one, is not reachable through the gateway.
/// </summary>
internal static class ProxyRoutes
{
    public const string JupyterCluster = "jupyter";
    public const string BrokerCluster = "broker";

    /// <summary>Prefix of the broker API on the gateway; removed before forwarding.</summary>
    public const string BrokerApiPrefix = "/attach";

    public static IReverseProxyBuilder AddAttachRoutes(this IReverseProxyBuilder proxy, GatewayOptions options)
    {
        RouteConfig[] routes =
        [
            BrokerRoute("broker-kernels", $"{BrokerApiPrefix}/api/v1/kernels/{{**rest}}"),
            BrokerRoute("broker-kernel-list", $"{BrokerApiPrefix}/api/v1/kernels"),
            BrokerRoute("broker-pool", $"{BrokerApiPrefix}/api/v1/pool"),
            BrokerRoute("broker-hub", $"{AttachHubProtocol.Path}/{{**rest}}"),
            BrokerRoute("broker-hub-root", AttachHubProtocol.Path),
            new RouteConfig
            {
                RouteId = "jupyter",
                ClusterId = JupyterCluster,
                // After every more specific endpoint (the kernel channel relay, the broker routes).
                Order = 1000,
                Match = new RouteMatch { Path = "/{**catch-all}" },
            },
        ];
        ClusterConfig[] clusters =
        [
            Cluster(JupyterCluster, options.JupyterUrl!),
            Cluster(BrokerCluster, options.BrokerUrl!),
        ];
        return proxy.LoadFromMemory(routes, clusters);
    }

    private static RouteConfig BrokerRoute(string id, string path) => new()
    {
        RouteId = id,
        ClusterId = BrokerCluster,
        Match = new RouteMatch { Path = path },
    };

    private static ClusterConfig Cluster(string id, Uri address) => new()
    {
        ClusterId = id,
        Destinations = new Dictionary<string, DestinationConfig>(StringComparer.Ordinal)
        {
            [id] = new DestinationConfig { Address = address.ToString() },
        },
        HttpRequest = new Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromMinutes(10) },
    };
}
