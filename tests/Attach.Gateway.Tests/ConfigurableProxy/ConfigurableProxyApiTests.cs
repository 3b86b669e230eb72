using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Attach.Gateway.Tests.Hosting;
using Attach.Testing.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Gateway.Tests.ConfigurableProxy;

/// <summary>
/// The gateway as JupyterHub's proxy: its configurable-http-proxy API driven with exactly the requests
/// JupyterHub's ConfigurableHTTPProxy (jupyterhub/proxy.py) sends, and the public port following the table.
/// </summary>
public sealed class ConfigurableProxyApiTests : IAsyncLifetime
{
    private readonly string _apiToken = GatewayFactory.Secret();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly int _apiPort = FreePort.Next();
    private RecordingBackend _hub = null!;
    private RecordingBackend _ada = null!;
    private RecordingBackend _bob = null!;
    private RecordingBackend _singleUserJupyter = null!;
    private GatewayFactory _gateway = null!;
    private HttpClient _api = null!;
    private HttpClient _public = null!;

    public async Task InitializeAsync()
    {
        _hub = await RecordingBackend.StartAsync("hub");
        _ada = await RecordingBackend.StartAsync("ada-server");
        _bob = await RecordingBackend.StartAsync("bob-server");
        _singleUserJupyter = await RecordingBackend.StartAsync("single-user-jupyter");
        _gateway = new GatewayFactory(
            new Dictionary<string, string?>
            {
                ["Gateway:JupyterUrl"] = _singleUserJupyter.Url.ToString(),
                ["Gateway:JupyterToken"] = GatewayFactory.Secret(),
                ["Gateway:Token"] = GatewayFactory.Secret(),
                ["Gateway:ConfigurableProxy:Port"] = _apiPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["CONFIGPROXY_AUTH_TOKEN"] = _apiToken,
            },
            services => services.AddSingleton<TimeProvider>(_time)).StartKestrel();
        _api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_apiPort}/") };
        _public = new HttpClient { BaseAddress = _gateway.KestrelAddress };
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        _public.Dispose();
        await _gateway.DisposeAsync();
        foreach (var backend in new[] { _hub, _ada, _bob, _singleUserJupyter })
        {
            await backend.DisposeAsync();
        }
    }

    /// <summary>proxy.py's api_request: url_path_join(api_url, 'api/routes', path), 'Authorization: token …', a JSON body.</summary>
    private async Task<HttpResponseMessage> ApiRequestAsync(string path, HttpMethod method, object? body = null, string? token = null)
    {
        var url = "api/routes" + (path.Length == 0 ? "" : "/" + path.TrimStart('/'));
        var request = new HttpRequestMessage(method, url);
        request.Headers.TryAddWithoutValidation("Authorization", $"token {token ?? _apiToken}");
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        return await _api.SendAsync(request);
    }

    /// <summary>proxy.py's add_route: body = data, plus target and jupyterhub: True; the routespec loses its trailing slash.</summary>
    private async Task AddRouteAsync(string routespec, Uri target, Dictionary<string, object> data)
    {
        data["target"] = target.ToString();
        data["jupyterhub"] = true;
        var path = routespec != "/" && routespec.EndsWith('/') ? routespec.TrimEnd('/') : routespec;
        using var response = await ApiRequestAsync(path, HttpMethod.Post, data);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private async Task<JsonElement> RoutesAsync(string query = "")
    {
        using var response = await ApiRequestAsync(query, HttpMethod.Get);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<string?> BackendOfAsync(string path)
    {
        using var response = await _public.GetAsync(path);
        return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("backend").GetString() : $"HTTP {(int)response.StatusCode}";
    }

    [Fact]
    public async Task JupyterHubsRequests_AddListAndDeleteRoutes_AndThePublicPortFollowsTheLongestPrefix()
    {
        await AddRouteAsync("/", _hub.Url, new() { ["hub"] = true });
        await AddRouteAsync("/user/ada/", _ada.Url, new() { ["user"] = "ada", ["server_name"] = "" });

        var table = await RoutesAsync();
        Assert.Equal(["/", "/user/ada"], table.EnumerateObject().Select(p => p.Name).Order());
        var ada = table.GetProperty("/user/ada");
        Assert.Equal(_ada.Url.ToString(), ada.GetProperty("target").GetString());
        Assert.True(ada.GetProperty("jupyterhub").GetBoolean());
        Assert.Equal("ada", ada.GetProperty("user").GetString());
        Assert.Equal("", ada.GetProperty("server_name").GetString());
        Assert.Equal("2026-11-28T12:00:00.000Z", ada.GetProperty("last_activity").GetString());
        Assert.True(table.GetProperty("/").GetProperty("hub").GetBoolean());

        // No gateway token: as configurable-http-proxy, authentication of proxied traffic is JupyterHub's.
        Assert.Equal("ada-server", await BackendOfAsync("/user/ada/api/status?token=jupyterhub-api-token"));
        Assert.Equal("/user/ada/api/status", _ada.Requests.Single().Path);
        Assert.Equal("?token=jupyterhub-api-token", _ada.Requests.Single().Query);
        Assert.Equal("hub", await BackendOfAsync("/user/adam/tree"));
        Assert.Equal("hub", await BackendOfAsync("/hub/login"));
        Assert.Equal("ada-server", await BackendOfAsync("/user/ada"));

        using (var deleted = await ApiRequestAsync("/user/ada", HttpMethod.Delete))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Equal("hub", await BackendOfAsync("/user/ada/api/status"));
        using var again = await ApiRequestAsync("/user/ada", HttpMethod.Delete);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal(["/"], (await RoutesAsync()).EnumerateObject().Select(p => p.Name));
        Assert.Empty(_singleUserJupyter.Requests);
    }

    [Fact]
    public async Task OneRoute_CanBeRead_AndAMissingOneIs404()
    {
        await AddRouteAsync("/user/bob/", _bob.Url, new() { ["user"] = "bob" });

        using var found = await ApiRequestAsync("/user/bob", HttpMethod.Get);
        using var missing = await ApiRequestAsync("/user/carol", HttpMethod.Get);

        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        Assert.Equal(_bob.Url.ToString(), (await found.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("target").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong")]
    public async Task WithoutTheApiToken_EveryCallIs403_AndTheTableIsUnchanged(string? token)
    {
        await AddRouteAsync("/user/bob/", _bob.Url, new() { ["user"] = "bob" });
        using var noAuth = new HttpClient { BaseAddress = _api.BaseAddress };
        if (token is not null)
        {
            noAuth.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "token " + token);
        }

        using var get = await noAuth.GetAsync("api/routes");
        using var post = await noAuth.PostAsync("api/routes/user/evil", new StringContent($$"""{"target":"{{_hub.Url}}"}"""));
        using var delete = await noAuth.DeleteAsync("api/routes/user/bob");

        Assert.All(new[] { get, post, delete }, r => Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode));
        Assert.Equal(["/user/bob"], (await RoutesAsync()).EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task BadRequests_GetConfigurableHttpProxysAnswers()
    {
        using var badJson = await _api.SendAsync(new HttpRequestMessage(HttpMethod.Post, "api/routes/user/x") { Content = new StringContent("{not json") });
        using var noTarget = await ApiRequestAsync("/user/x", HttpMethod.Post, new { user = "x" });
        using var badDate = await ApiRequestAsync("?inactive_since=yesterday", HttpMethod.Get);
        using var put = await ApiRequestAsync("/user/x", HttpMethod.Put, new { target = "http://127.0.0.1:1/" });
        using var elsewhere = await _api.GetAsync("api/other");
        using var template = await ApiRequestAsync("/user/{x}", HttpMethod.Post, new { target = _ada.Url.ToString() });

        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
        Assert.StartsWith("Body not valid JSON", await badJson.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, noTarget.StatusCode);
        Assert.Equal("Must specify 'target' as string", await noTarget.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, badDate.StatusCode);
        Assert.Equal("Invalid datestamp 'yesterday' must be ISO8601.", await badDate.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.MethodNotAllowed, put.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, template.StatusCode);
        Assert.Empty((await RoutesAsync()).EnumerateObject());
    }

    [Fact]
    public async Task Traffic_UpdatesLastActivity_AndInactiveSinceListsOnlyTheIdleRoutes()
    {
        await AddRouteAsync("/user/ada/", _ada.Url, new() { ["user"] = "ada" });
        await AddRouteAsync("/user/bob/", _bob.Url, new() { ["user"] = "bob" });

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal("ada-server", await BackendOfAsync("/user/ada/api/status"));

        var all = await RoutesAsync();
        Assert.Equal("2026-11-28T13:00:00.000Z", all.GetProperty("/user/ada").GetProperty("last_activity").GetString());
        Assert.Equal("2026-11-28T12:00:00.000Z", all.GetProperty("/user/bob").GetProperty("last_activity").GetString());
        var idle = await RoutesAsync("?inactive_since=2026-11-28T12:30:00.000Z");
        Assert.Equal(["/user/bob"], idle.EnumerateObject().Select(p => p.Name));
        var camel = await RoutesAsync("?inactiveSince=2026-11-28T12:30:00Z");
        Assert.Equal(["/user/bob"], camel.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task AnOpenWebSocket_SurvivesUnrelatedRouteChanges()
    {
        await AddRouteAsync("/user/ada/", _ada.Url, new() { ["user"] = "ada" });
        using var socket = new ClientWebSocket();
        // A terminal: a kernel channel on a user's route goes through the relay (JupyterHubRoutingTests).
        await socket.ConnectAsync(new Uri($"ws://{_gateway.KestrelAddress.Authority}/user/ada/terminals/websocket/1"), CancellationToken.None);
        Assert.Equal("before", await EchoAsync(socket, "before"));

        await AddRouteAsync("/user/bob/", _bob.Url, new() { ["user"] = "bob" });
        using (var deleted = await ApiRequestAsync("/user/bob", HttpMethod.Delete))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await AddRouteAsync("/", _hub.Url, new() { ["hub"] = true });

        Assert.Equal(WebSocketState.Open, socket.State);
        Assert.Equal("after", await EchoAsync(socket, "after"));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Fact]
    public async Task TheGatewaysOwnApi_StillNeedsItsToken_WhenJupyterHubRoutesTheRest()
    {
        await AddRouteAsync("/", _hub.Url, new() { ["hub"] = true });

        using var pool = await _public.GetAsync("attach/api/v1/pool");
        using var login = await _public.GetAsync("attach/login");

        Assert.Equal(HttpStatusCode.Unauthorized, pool.StatusCode);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Empty(_hub.Requests);
    }

    private static async Task<string> EchoAsync(ClientWebSocket socket, string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[1024];
        var received = await socket.ReceiveAsync(buffer, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, received.Count);
    }
}
