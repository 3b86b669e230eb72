using System.Text.Json.Nodes;
using Attach.Gateway.Proxy;
using Attach.Gateway.Users;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Attach.Gateway.ConfigurableProxy;

/// <summary>
/// The routes JupyterHub keeps through configurable-http-proxy's API: prefix → target plus whatever data
/// it sent, and each route's <c>last_activity</c>. Every change rebuilds YARP's configuration, which keeps
/// connections already open (a WebSocket to one server survives a route added for another). Longest
/// prefix wins, by whole path segments, as in configurable-http-proxy's trie: <c>/user/ada</c> serves
/// <c>/user/ada/…</c> but not <c>/user/adam</c>.
/// </summary>
internal sealed class ProxyRouteTable
{
    /// <summary>After the gateway's own endpoints (login, broker API, hub), before single-user mode's catch-all.</summary>
    public const int RouteOrder = 500;

    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, Entry> _routes = new(StringComparer.Ordinal);
    private readonly InMemoryConfigProvider _config;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<RouteConfig> _baseRoutes;
    private readonly IReadOnlyList<ClusterConfig> _baseClusters;

    public ProxyRouteTable(InMemoryConfigProvider config, TimeProvider time, IOptions<GatewayOptions> options, UserDirectory users)
    {
        _config = config;
        _time = time;
        (_baseRoutes, _baseClusters) = ProxyRoutes.Build(options.Value, users);
        if (options.Value.ConfigurableProxy.DefaultTarget is { } defaultTarget)
        {
            // As configurable-http-proxy's --default-target: an ordinary route "/", there from the start.
            Add("/", defaultTarget, new JsonObject { ["target"] = defaultTarget.ToString() });
        }
    }

    /// <summary>configurable-http-proxy's form of a prefix: a leading slash, no trailing one (except <c>/</c> itself).</summary>
    public static string CleanPath(string path)
    {
        if (path.Length == 0 || path[0] != '/')
        {
            path = "/" + path;
        }

        return path.Length > 1 && path[^1] == '/' ? path[..^1] : path;
    }

    /// <summary>Whether the request matched a route JupyterHub added (its users' auth is JupyterHub's business).</summary>
    public static bool IsRoutedByJupyterHub(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.Metadata?.GetValueOrDefault(ProxyRoutes.BackendKey) == ProxyRoutes.BackendJupyterHub;

    /// <summary>The JupyterHub route a request matched, with the user its data names (if it names one the broker can take), else null.</summary>
    public static JupyterHubRoute? RouteOf(HttpContext context)
    {
        var metadata = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.Metadata;
        if (metadata?.GetValueOrDefault(ProxyRoutes.BackendKey) != ProxyRoutes.BackendJupyterHub)
        {
            return null;
        }

        return new JupyterHubRoute(metadata[PrefixKey], new Uri(metadata[TargetKey]), metadata.GetValueOrDefault(HubUserKey));
    }

    /// <summary>
    /// The user a route's data names (<c>{"user": name}</c>, as JupyterHub's <c>proxy.add_user</c> sends it), when the
    /// broker can take it as a user name: printable ASCII (it travels in a header), not the broker's reserved name.
    /// </summary>
    public static string? HubUserOf(JsonObject data) =>
        data["user"] is JsonValue value && value.GetValueKind() == System.Text.Json.JsonValueKind.String
        && value.GetValue<string>() is { Length: > 0 and <= 128 } name
        && name.All(c => c is > ' ' and < (char)0x7f)
        && !string.Equals(name, "attach-service", StringComparison.OrdinalIgnoreCase)
            ? name
            : null;

    /// <summary>Forwarded as configurable-http-proxy does: Host kept, query and cookies untouched (but for the gateway's own session cookie); successful traffic counts as activity.</summary>
    public static void AddJupyterHubTransforms(TransformBuilderContext context)
    {
        var prefix = context.Route.Metadata![PrefixKey];
        var table = context.Services.GetRequiredService<ProxyRouteTable>();
        context.CopyRequestHeaders = true;
        context.AddOriginalHost(useOriginal: true);
        context.AddRequestTransform(transform =>
        {
            // The gateway's own session cookie is not the route's server's business (nor its owner's to read).
            var cookies = transform.HttpContext.Request.Headers.Cookie.ToString();
            if (cookies.Contains(Security.GatewayAuthDefaults.CookieName, StringComparison.Ordinal))
            {
                transform.ProxyRequest.Headers.Remove("Cookie");
                if (JupyterHubKernelChannel.WithoutGatewayCookie(cookies) is { Length: > 0 } rest)
                {
                    transform.ProxyRequest.Headers.TryAddWithoutValidation("Cookie", rest);
                }
            }

            return ValueTask.CompletedTask;
        });
        context.AddResponseTransform(transform =>
        {
            var status = transform.ProxyResponse is null ? 502 : (int)transform.ProxyResponse.StatusCode;
            if (status < 300)
            {
                table.Touch(prefix);
                if (status == StatusCodes.Status101SwitchingProtocols)
                {
                    // A WebSocket is activity for as long as it lasts: record its end too.
                    transform.HttpContext.Response.OnCompleted(() =>
                    {
                        table.Touch(prefix);
                        return Task.CompletedTask;
                    });
                }
            }

            return ValueTask.CompletedTask;
        });
    }

    internal const string PrefixKey = "Attach.JupyterHubPrefix";

    /// <summary>Route metadata: the route's target, as JupyterHub gave it.</summary>
    internal const string TargetKey = "Attach.JupyterHubTarget";

    /// <summary>Route metadata: the JupyterHub user the route's data names; their kernels' GPU cells are theirs.</summary>
    internal const string HubUserKey = "Attach.JupyterHubUser";

    public IReadOnlyDictionary<string, JsonObject> Snapshot(DateTimeOffset? inactiveSince = null)
    {
        lock (_lock)
        {
            return _routes
                .Where(r => inactiveSince is null || r.Value.LastActivity < inactiveSince)
                .ToDictionary(r => r.Key, r => r.Value.ToJson(), StringComparer.Ordinal);
        }
    }

    public JsonObject? Find(string path)
    {
        lock (_lock)
        {
            return _routes.TryGetValue(CleanPath(path), out var entry) ? entry.ToJson() : null;
        }
    }

    /// <summary>Adds or replaces a route; <paramref name="data"/> holds <c>target</c> and anything else the caller sent, kept as given.</summary>
    public void Add(string path, Uri target, JsonObject data)
    {
        path = CleanPath(path);
        lock (_lock)
        {
            data.Remove("last_activity");
            _routes[path] = new Entry(target, data, HubUserOf(data), _time.GetUtcNow());
            Publish_NeedsLock();
        }
    }

    public bool Remove(string path)
    {
        lock (_lock)
        {
            if (!_routes.Remove(CleanPath(path)))
            {
                return false;
            }

            Publish_NeedsLock();
            return true;
        }
    }

    /// <summary>Records traffic on a route for <c>GET /api/routes?inactive_since=</c>.</summary>
    public void Touch(string path)
    {
        lock (_lock)
        {
            if (_routes.TryGetValue(path, out var entry))
            {
                entry.LastActivity = _time.GetUtcNow();
            }
        }
    }

    private void Publish_NeedsLock()
    {
        var routes = new List<RouteConfig>(_baseRoutes);
        var clusters = new List<ClusterConfig>(_baseClusters);
        foreach (var (prefix, entry) in _routes)
        {
            var id = "jupyterhub:" + prefix;
            routes.Add(new RouteConfig
            {
                RouteId = id,
                ClusterId = id,
                Order = RouteOrder,
                // Configurable-http-proxy does not authenticate what it proxies; JupyterHub and its servers do.
                AuthorizationPolicy = "anonymous",
                Match = new RouteMatch { Path = (prefix == "/" ? "" : prefix) + "/{**rest}" },
                Metadata = Metadata(prefix, entry),
            });
            clusters.Add(ProxyRoutes.Cluster(id, entry.Target));
        }

        _config.Update(routes, clusters);
    }

    private static Dictionary<string, string> Metadata(string prefix, Entry entry)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ProxyRoutes.BackendKey] = ProxyRoutes.BackendJupyterHub,
            [PrefixKey] = prefix,
            [TargetKey] = entry.Target.ToString(),
        };
        if (entry.User is { } user)
        {
            metadata[HubUserKey] = user;
        }

        return metadata;
    }

    private sealed class Entry(Uri target, JsonObject data, string? user, DateTimeOffset lastActivity)
    {
        public Uri Target { get; } = target;

        public string? User { get; } = user;

        public DateTimeOffset LastActivity { get; set; } = lastActivity;

        public JsonObject ToJson()
        {
            var json = (JsonObject)data.DeepClone();
            // JavaScript's Date.toISOString(), as configurable-http-proxy writes it.
            json["last_activity"] = LastActivity.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
            return json;
        }
    }
}
