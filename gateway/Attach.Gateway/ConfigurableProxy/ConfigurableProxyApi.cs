using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Attach.Gateway.ConfigurableProxy;

/// <summary>
/// configurable-http-proxy's REST API, on its own port, answering as configurable-http-proxy 4.x/5.x does
/// (lib/configproxy.js): <c>GET /api/routes[?inactive_since=]</c> → 200 and the table, <c>GET
/// /api/routes/{prefix}</c> → 200 or 404, <c>POST /api/routes/{prefix}</c> with <c>{"target": …}</c> → 201,
/// <c>DELETE /api/routes/{prefix}</c> → 204 or 404; <c>Authorization: token $CONFIGPROXY_AUTH_TOKEN</c> or 403;
/// another method → 405, another path → 404. A separate Kestrel server, so nothing of the public pipeline
/// (its authentication, its routes) applies here, and the port can stay private.
/// </summary>
internal sealed partial class ConfigurableProxyApi(
    IOptions<GatewayOptions> options,
    ProxyRouteTable routes,
    ILogger<ConfigurableProxyApi> logger) : IHostedService, IAsyncDisposable
{
    private const string Prefix = "/api/routes";
    private readonly ConfigurableProxyOptions _options = options.Value.ConfigurableProxy;
    private WebApplication? _app;

    /// <summary>The address the API listens on, once started.</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Port is not { } port)
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Parse(_options.Address), port));
        _app = builder.Build();
        _app.Run(HandleAsync);
        await _app.StartAsync(cancellationToken);
        Address = new Uri($"http://{_options.Address}:{port}/");
        Log.ConfigurableProxyListening(logger, Address);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    internal async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        var match = Route().Match(path);
        if (!match.Success)
        {
            await FailAsync(context, StatusCodes.Status404NotFound, "Not Found");
            return;
        }

        var prefix = match.Groups[1].Success ? match.Groups[1].Value : null;
        var response = context.Response;
        if (HttpMethods.IsGet(request.Method))
        {
            if (!Authorized(request))
            {
                response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }

            await GetAsync(context, prefix);
        }
        else if (HttpMethods.IsPost(request.Method))
        {
            // As configurable-http-proxy: the body is parsed before the token is checked.
            JsonObject data;
            try
            {
                var node = await JsonNode.ParseAsync(request.Body, cancellationToken: context.RequestAborted);
                data = node as JsonObject ?? (node is null ? [] : throw new JsonException("not an object"));
            }
            catch (JsonException ex)
            {
                await FailAsync(context, StatusCodes.Status400BadRequest, "Body not valid JSON: " + ex.Message);
                return;
            }

            if (!Authorized(request))
            {
                response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }

            if (data["target"] is not JsonValue target || target.GetValueKind() != JsonValueKind.String
                || !Uri.TryCreate(target.GetValue<string>(), UriKind.Absolute, out var targetUri) || targetUri.Scheme is not ("http" or "https"))
            {
                Log.ConfigurableProxyBadRoute(logger, ProxyRouteTable.CleanPath(prefix ?? "/"));
                await FailAsync(context, StatusCodes.Status400BadRequest, "Must specify 'target' as string");
                return;
            }

            if ((prefix ?? "").IndexOfAny(['{', '}', '*', '?', '#']) >= 0)
            {
                // They would make the route template invalid, and YARP would then refuse the whole new table.
                await FailAsync(context, StatusCodes.Status400BadRequest, "A route prefix may not contain '{', '}', '*', '?' or '#'");
                return;
            }

            if (data.ContainsKey("user") && ProxyRouteTable.HubUserOf(data) is null)
            {
                Log.HubRouteUserUnusable(logger, ProxyRouteTable.CleanPath(prefix ?? "/"));
            }

            routes.Add(prefix ?? "/", targetUri, data);
            Log.ConfigurableProxyRouteAdded(logger, ProxyRouteTable.CleanPath(prefix ?? "/"), targetUri);
            response.StatusCode = StatusCodes.Status201Created;
        }
        else if (HttpMethods.IsDelete(request.Method))
        {
            if (!Authorized(request))
            {
                response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }

            var removed = routes.Remove(prefix ?? "/");
            if (removed)
            {
                Log.ConfigurableProxyRouteRemoved(logger, ProxyRouteTable.CleanPath(prefix ?? "/"));
            }

            response.StatusCode = removed ? StatusCodes.Status204NoContent : StatusCodes.Status404NotFound;
        }
        else
        {
            await FailAsync(context, StatusCodes.Status405MethodNotAllowed, "Method not supported");
        }
    }

    private async Task GetAsync(HttpContext context, string? prefix)
    {
        var response = context.Response;
        if (prefix is { Length: > 0 } && prefix != "/")
        {
            if (routes.Find(prefix) is not { } route)
            {
                response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await WriteJsonAsync(context, route);
            return;
        }

        var query = context.Request.Query;
        var since = query["inactiveSince"].ToString() is { Length: > 0 } camel ? camel : query["inactive_since"].ToString();
        DateTimeOffset? inactiveSince = null;
        if (since.Length > 0)
        {
            if (!DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                await FailAsync(context, StatusCodes.Status400BadRequest, $"Invalid datestamp '{since}' must be ISO8601.");
                return;
            }

            inactiveSince = parsed;
        }

        var table = new JsonObject();
        foreach (var (path, route) in routes.Snapshot(inactiveSince))
        {
            table[path] = route;
        }

        await WriteJsonAsync(context, table);
    }

    private bool Authorized(HttpRequest request)
    {
        var match = TokenHeader().Match(request.Headers.Authorization.ToString());
        return match.Success && CryptographicOperations.FixedTimeEquals(
            Encoding.UTF8.GetBytes(match.Groups[1].Value), Encoding.UTF8.GetBytes(_options.AuthToken ?? ""));
    }

    private static async Task WriteJsonAsync(HttpContext context, JsonNode json)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json.ToJsonString(), context.RequestAborted);
    }

    private static async Task FailAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        await context.Response.WriteAsync(message, context.RequestAborted);
    }

    [GeneratedRegex(@"^/api/routes(/.*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Route();

    [GeneratedRegex(@"token\s+(\S+)", RegexOptions.CultureInvariant)]
    private static partial Regex TokenHeader();
}
