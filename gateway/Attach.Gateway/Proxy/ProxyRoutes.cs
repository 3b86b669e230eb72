using Attach.Contracts.Hubs;
using Attach.Gateway.Users;
using Yarp.ReverseProxy.Configuration;

namespace Attach.Gateway.Proxy;

/// <summary>
/// The routes YARP serves: the broker's user-facing API under <c>/attach/api/v1</c> and its hub, and the
/// users' backends. Single-user mode: everything else to the one Jupyter Server. Multi-user mode (users
/// file): <c>/user/{name}/…</c> to that user's Jupyter Server, path unchanged (it runs with that base_url),
/// and <c>/user/{name}/vscode/…</c> to their code-server with the prefix stripped. Only the broker routes
/// users may call are forwarded: the node heartbeat API, for one, is not reachable through the gateway.
/// </summary>
internal static class ProxyRoutes
{
    public const string JupyterCluster = "jupyter";
    public const string BrokerCluster = "broker";

    /// <summary>Prefix of the broker API on the gateway; removed before forwarding.</summary>
    public const string BrokerApiPrefix = "/attach";

    /// <summary>Route metadata: which kind of backend a route goes to (one of the <c>Backend…</c> values).</summary>
    public const string BackendKey = "Attach.Backend";

    /// <summary>Route metadata: whose backend it is (multi-user mode).</summary>
    public const string UserKey = "Attach.User";

    /// <summary>Route metadata: the prefix to strip before forwarding.</summary>
    public const string StripPrefixKey = "Attach.StripPrefix";

    public const string BackendJupyter = "jupyter";
    public const string BackendCodeServer = "code-server";
    public const string BackendBroker = "broker";

    /// <summary>Routes a JupyterHub put in through the configurable-http-proxy API.</summary>
    public const string BackendJupyterHub = "jupyterhub";

    /// <summary>
    /// The users' backend routes: after the gateway's own endpoints, whatever their templates, so the kernel
    /// channel relay's <c>/user/{name}/api/kernels/{id}/channels</c> wins over the literal <c>/user/ada/{**rest}</c>.
    /// </summary>
    public const int UserOrder = 100;

    /// <summary>After every more specific endpoint (the kernel channel relay, the broker routes, JupyterHub's routes).</summary>
    public const int FallbackOrder = 1000;

    public static IReverseProxyBuilder AddAttachRoutes(this IReverseProxyBuilder proxy, GatewayOptions options, UserDirectory users)
    {
        var (routes, clusters) = Build(options, users);
        return proxy.LoadFromMemory(routes, clusters);
    }

    /// <summary>The routes and clusters the gateway's configuration implies (JupyterHub's are added to these).</summary>
    public static (IReadOnlyList<RouteConfig> Routes, IReadOnlyList<ClusterConfig> Clusters) Build(GatewayOptions options, UserDirectory users)
    {
        List<RouteConfig> routes =
        [
            BrokerRoute("broker-kernels", $"{BrokerApiPrefix}/api/v1/kernels/{{**rest}}"),
            BrokerRoute("broker-kernel-list", $"{BrokerApiPrefix}/api/v1/kernels"),
            BrokerRoute("broker-pool", $"{BrokerApiPrefix}/api/v1/pool"),
            BrokerRoute("broker-hub", $"{AttachHubProtocol.Path}/{{**rest}}"),
            BrokerRoute("broker-hub-root", AttachHubProtocol.Path),
        ];
        List<ClusterConfig> clusters = [Cluster(BrokerCluster, options.BrokerUrl!)];
        if (!users.IsMultiUser)
        {
            routes.Add(new RouteConfig
            {
                RouteId = "jupyter",
                ClusterId = JupyterCluster,
                Order = FallbackOrder,
                Match = new RouteMatch { Path = "/{**catch-all}" },
                Metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [BackendKey] = BackendJupyter },
            });
            clusters.Add(Cluster(JupyterCluster, options.JupyterUrl!));
            return (routes, clusters);
        }

        foreach (var user in users.Users)
        {
            var prefix = UserPaths.PrefixOf(user.Name);
            routes.Add(new RouteConfig
            {
                RouteId = $"user-{user.Name}",
                ClusterId = $"jupyter-{user.Name}",
                Order = UserOrder,
                Match = new RouteMatch { Path = prefix + "{**rest}" },
                Metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [BackendKey] = BackendJupyter, [UserKey] = user.Name },
            });
            clusters.Add(Cluster($"jupyter-{user.Name}", user.Jupyter.Destination));
            if (user.CodeServer is { } codeServer)
            {
                var codePrefix = prefix + UserPaths.CodeServerSegment;
                routes.Add(new RouteConfig
                {
                    RouteId = $"user-{user.Name}-vscode",
                    ClusterId = $"code-{user.Name}",
                    Order = UserOrder,
                    Match = new RouteMatch { Path = codePrefix + "/{**rest}" },
                    Metadata = new Dictionary<string, string>(StringComparer.Ordinal)
                    {
                        [BackendKey] = BackendCodeServer,
                        [UserKey] = user.Name,
                        [StripPrefixKey] = codePrefix,
                    },
                });
                clusters.Add(Cluster($"code-{user.Name}", codeServer));
            }
        }

        return (routes, clusters);
    }

    private static RouteConfig BrokerRoute(string id, string path) => new()
    {
        RouteId = id,
        ClusterId = BrokerCluster,
        Match = new RouteMatch { Path = path },
        Metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [BackendKey] = BackendBroker },
    };

    internal static ClusterConfig Cluster(string id, Uri address) => new()
    {
        ClusterId = id,
        Destinations = new Dictionary<string, DestinationConfig>(StringComparer.Ordinal)
        {
            [id] = new DestinationConfig { Address = address.ToString() },
        },
        HttpRequest = new Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromMinutes(10) },
    };
}
