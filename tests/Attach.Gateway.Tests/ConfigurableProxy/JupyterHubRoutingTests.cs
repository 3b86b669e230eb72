using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Attach.Contracts.Kernels;
using Attach.Gateway.Channels;
using Attach.Gateway.Channels.Protocol;
using Attach.Gateway.Tests.Channels;
using Attach.Gateway.Tests.Hosting;
using Attach.Testing.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Gateway.Tests.ConfigurableProxy;

/// <summary>
/// The public port of a gateway JupyterHub drives, beyond the route table: the kernel channels of a user's route go
/// through the relay for that user, and configurable-http-proxy's health check, default target, 503 page, error
/// target and per-frame activity. Routes are added with the requests jupyterhub/proxy.py sends.
/// </summary>
public sealed class JupyterHubRoutingTests : IAsyncLifetime
{
    private readonly string _apiToken = GatewayFactory.Secret();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly int _apiPort = FreePort.Next();
    private readonly RecordingBroker _broker = new();
    private RecordingBackend _hub = null!;
    private RecordingBackend _ada = null!;
    private GatewayFactory? _gateway;
    private HttpClient _api = null!;
    private HttpClient _public = null!;

    public async Task InitializeAsync()
    {
        _hub = await RecordingBackend.StartAsync("hub");
        _ada = await RecordingBackend.StartAsync("ada-server");
    }

    public async Task DisposeAsync()
    {
        _api?.Dispose();
        _public?.Dispose();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        await _hub.DisposeAsync();
        await _ada.DisposeAsync();
    }

    private void StartGateway(Dictionary<string, string?>? extra = null, IExecutionBroker? broker = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:JupyterUrl"] = "http://127.0.0.1:9/",
            ["Gateway:JupyterToken"] = GatewayFactory.Secret(),
            ["Gateway:Token"] = GatewayFactory.Secret(),
            ["Gateway:ConfigurableProxy:Port"] = _apiPort.ToString(CultureInfo.InvariantCulture),
            ["CONFIGPROXY_AUTH_TOKEN"] = _apiToken,
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        _gateway = new GatewayFactory(settings, services =>
        {
            services.AddSingleton<TimeProvider>(_time);
            services.AddSingleton(broker ?? _broker);
        }).StartKestrel();
        _api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_apiPort}/") };
        _public = new HttpClient { BaseAddress = _gateway.KestrelAddress };
    }

    /// <summary>proxy.py's add_route: POST api/routes{routespec without its trailing slash}, data plus target and jupyterhub: True.</summary>
    private async Task AddRouteAsync(string routespec, Uri target, Dictionary<string, object> data)
    {
        data["target"] = target.ToString();
        data["jupyterhub"] = true;
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/routes" + routespec.TrimEnd('/'))
        {
            Content = new StringContent(JsonSerializer.Serialize(data), Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", $"token {_apiToken}");
        using var response = await _api.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private async Task<JsonElement> RoutesAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/routes");
        request.Headers.TryAddWithoutValidation("Authorization", $"token {_apiToken}");
        using var response = await _api.SendAsync(request);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private Uri WebSocketUri(string pathAndQuery) => new($"ws://{_gateway!.KestrelAddress.Authority}{pathAndQuery}");

    private const string BrowserCookies = "jupyterhub-user-ada=hub-oauth-cookie; attach_session=the-gateways-own-session; _xsrf=x";

    /// <summary>The badge's <c>POST {route}/.attach/identity</c>, from a page of the gateway's origin.</summary>
    private HttpRequestMessage IdentityRequest(string route, string? cookies)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, route + ".attach/identity");
        request.Headers.TryAddWithoutValidation("Origin", $"http://{_gateway!.KestrelAddress.Authority}");
        if (cookies is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", cookies);
        }

        return request;
    }

    [Fact]
    public async Task OnAUsersRoute_TheGatewaysOwnSessionCookie_ReachesTheServerNeitherOverHttpNorTheChannelNorTheIdentityCheck()
    {
        StartGateway();
        await AddRouteAsync("/user/ada/", _ada.Url, new() { ["user"] = "ada", ["server_name"] = "" });
        using var page = new HttpRequestMessage(HttpMethod.Get, "user/ada/tree");
        page.Headers.TryAddWithoutValidation("Cookie", BrowserCookies);
        using (var response = await _public.SendAsync(page))
        {
            response.EnsureSuccessStatusCode();
        }

        using (var socket = new ClientWebSocket())
        {
            socket.Options.SetRequestHeader("Cookie", BrowserCookies);
            await socket.ConnectAsync(WebSocketUri("/user/ada/api/kernels/k1/channels"), CancellationToken.None);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }

        using var identity = await _public.SendAsync(IdentityRequest("user/ada/", BrowserCookies));

        Assert.Equal(["/user/ada/tree", "/user/ada/api/kernels/k1/channels", "/user/ada/api/status"], _ada.Requests.Select(r => r.Path));
        // Every other cookie goes through byte for byte, as configurable-http-proxy passes them.
        Assert.All(_ada.Requests, r => Assert.Equal("jupyterhub-user-ada=hub-oauth-cookie; _xsrf=x", r.Cookie));
        // The recording server's 200 is not Jupyter Server's status (no started, no kernels): no identity for it.
        Assert.Equal(HttpStatusCode.Forbidden, identity.StatusCode);
        Assert.False(identity.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task AnIdentityTheRoutesServerVouchedFor_LastsTenMinutesWithoutSliding()
    {
        StartGateway();
        _ada.AnswersJupyterStatus = true;
        await AddRouteAsync("/user/ada/", _ada.Url, new() { ["user"] = "ada", ["server_name"] = "" });

        using var identity = await _public.SendAsync(IdentityRequest("user/ada/", "jupyterhub-user-ada=hub-oauth-cookie"));

        Assert.Equal(HttpStatusCode.NoContent, identity.StatusCode);
        var session = Assert.Single(identity.Headers.GetValues("Set-Cookie"), c => c.StartsWith("attach_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        // A session cookie (no expires): the ticket inside it carries the ten minutes.
        Assert.DoesNotContain("expires=", session, StringComparison.OrdinalIgnoreCase);
        var cookie = session.Split(';')[0];
        async Task<HttpResponseMessage> DashboardAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "attach/");
            request.Headers.TryAddWithoutValidation("Cookie", cookie);
            return await _public.SendAsync(request);
        }

        using (var fresh = await DashboardAsync())
        {
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        }

        _time.Advance(TimeSpan.FromMinutes(9));
        using (var late = await DashboardAsync())
        {
            Assert.Equal(HttpStatusCode.OK, late.StatusCode);
            Assert.False(late.Headers.Contains("Set-Cookie"), "the delegated ticket must not slide");
        }

        _time.Advance(TimeSpan.FromMinutes(2));
        using var expired = await DashboardAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
    }

    [Fact]
    public async Task TheBadgeScript_IsServedWithoutAGatewayIdentity_ForThePagesOfJupyterHubsRoutes_ButTheRestOfItsFolderIsNot()
    {
        var assets = Directory.CreateTempSubdirectory("attach-static-").FullName;
        File.WriteAllText(Path.Combine(assets, "badge.js"), "/* the badge */");
        File.WriteAllText(Path.Combine(assets, "dashboard.js"), "/* the dashboard */");
        StartGateway(new() { ["Gateway:Pages:StaticDirectory"] = assets });

        using var badge = await _public.GetAsync("attach/static/badge.js");
        using var dashboard = await _public.GetAsync("attach/static/dashboard.js");

        Assert.Equal(HttpStatusCode.OK, badge.StatusCode);
        Assert.Equal("/* the badge */", await badge.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, dashboard.StatusCode);
    }

    [Fact]
    public async Task AKernelChannelOnAUsersRoute_GoesThroughTheRelay_ForTheUserTheRouteNames_WithTheBrowsersOwnCredentials()
    {
        StartGateway();
        await AddRouteAsync("/user/ada/", _ada.Url, new() { ["user"] = "ada", ["server_name"] = "" });
        // The recording backend negotiates no subprotocol, so the channel speaks the legacy one.
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Cookie", "jupyterhub-user-ada=hub-oauth-cookie; _xsrf=x");
        await socket.ConnectAsync(WebSocketUri("/user/ada/api/kernels/k1/channels?session_id=s1&token=ada-server-token"), CancellationToken.None);

        var (frame, isText) = CellFrames.Execute(KernelWireProtocol.Legacy, "m1", "model.cuda()");
        await socket.SendAsync(frame, isText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, CancellationToken.None);
        var call = await _broker.FirstCall.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(("k1", "ada"), call);
        // The user's server authenticated the handshake with what the browser sent, not with anything of the gateway's.
        var handshake = _ada.Requests.Single();
        Assert.Equal("/user/ada/api/kernels/k1/channels", handshake.Path);
        Assert.Equal("?session_id=s1&token=ada-server-token", handshake.Query);
        Assert.Equal("jupyterhub-user-ada=hub-oauth-cookie; _xsrf=x", handshake.Cookie);
        Assert.Equal(_gateway!.KestrelAddress.Authority, handshake.Host);
        Assert.Null(handshake.Authorization);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Fact]
    public async Task AnInterruptTheUsersServerAccepted_AbortsTheCellHeldForAGpu()
    {
        var broker = new ScriptedExecutionBroker();
        StartGateway(broker: broker);
        await AddRouteAsync("/user/ada/", _ada.Url, new() { ["user"] = "ada", ["server_name"] = "" });
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(WebSocketUri("/user/ada/api/kernels/k1/channels?session_id=s1"), CancellationToken.None);
        var (frame, _) = CellFrames.Execute(KernelWireProtocol.Legacy, "held-1", "model.cuda()");
        await socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await broker.NextCallAsync(timeout.Token);

        // The toolbar's interrupt: an HTTP POST the user's server answers (here with 200).
        using var interrupt = await _public.PostAsync("user/ada/api/kernels/k1/interrupt", null);
        Assert.Equal(HttpStatusCode.OK, interrupt.StatusCode);

        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, timeout.Token);
            using var message = JsonDocument.Parse(buffer.AsMemory(0, received.Count));
            if (message.RootElement.GetProperty("header").GetProperty("msg_type").GetString() == "execute_reply")
            {
                Assert.Equal("held-1", message.RootElement.GetProperty("parent_header").GetProperty("msg_id").GetString());
                Assert.Equal("aborted", message.RootElement.GetProperty("content").GetProperty("status").GetString());
                break;
            }
        }

        Assert.Contains(_ada.Requests, r => r.Method == "POST" && r.Path == "/user/ada/api/kernels/k1/interrupt");
    }

    [Fact]
    public async Task AKernelChannelOnARouteThatNamesNoUser_IsTunnelledAsIs_AndTheBrokerIsNotAsked()
    {
        StartGateway();
        await AddRouteAsync("/", _hub.Url, new() { ["hub"] = true });
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(WebSocketUri("/user/ada/api/kernels/k1/channels"), CancellationToken.None);

        // Not a Jupyter message: the relay would close the channel for it; a plain tunnel echoes it.
        Assert.Equal("not a kernel message", await EchoAsync(socket, "not a kernel message"));
        Assert.Equal(0, _broker.Calls);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Fact]
    public async Task EveryWebSocketFrame_MovesTheRoutesLastActivity_AsConfigurableHttpProxyDoes()
    {
        StartGateway();
        await AddRouteAsync("/user/ada/", _ada.Url, new() { ["user"] = "ada" });
        using var terminal = new ClientWebSocket();
        await terminal.ConnectAsync(WebSocketUri("/user/ada/terminals/websocket/1"), CancellationToken.None);
        using var kernel = new ClientWebSocket();
        await kernel.ConnectAsync(WebSocketUri("/user/ada/api/kernels/k1/channels"), CancellationToken.None);

        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal("ls\r", await EchoAsync(terminal, "ls\r"));
        Assert.Equal("2026-11-28T13:00:00.000Z", (await RoutesAsync()).GetProperty("/user/ada").GetProperty("last_activity").GetString());

        _time.Advance(TimeSpan.FromHours(1));
        var (frame, _) = CellFrames.Frame(KernelWireProtocol.Legacy, "shell", "m1", "kernel_info_request", "{}");
        await kernel.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
        var echoed = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal(WebSocketMessageType.Text, (await kernel.ReceiveAsync(echoed, timeout.Token)).MessageType);
        Assert.Equal("2026-11-28T14:00:00.000Z", (await RoutesAsync()).GetProperty("/user/ada").GetProperty("last_activity").GetString());
        await terminal.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await kernel.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Fact]
    public async Task TheHealthCheck_AnswersOk_WithoutAuthentication_WhateverTheRoutes()
    {
        StartGateway();
        await AddRouteAsync("/", _hub.Url, new() { ["hub"] = true });

        using var health = await _public.GetAsync("_chp_healthz");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("application/json", health.Content.Headers.ContentType!.MediaType);
        Assert.Equal("OK", (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public async Task TheDefaultTarget_IsTheRouteSlash_FromTheStart()
    {
        StartGateway(new() { ["Gateway:ConfigurableProxy:DefaultTarget"] = _hub.Url.ToString() });

        var routes = await RoutesAsync();
        using var page = await _public.GetAsync("hub/login");

        Assert.Equal(_hub.Url.ToString(), routes.GetProperty("/").GetProperty("target").GetString());
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("/hub/login", _hub.Requests.Single().Path);
    }

    [Fact]
    public async Task AServerThatDoesNotAnswer_Gets503AndAPage_AndNoActivity()
    {
        StartGateway();
        var down = new Uri($"http://127.0.0.1:{FreePort.Next()}/");
        await AddRouteAsync("/user/ada/", down, new() { ["user"] = "ada" });
        _time.Advance(TimeSpan.FromHours(1));

        using var page = await _public.GetAsync("user/ada/lab");
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(WebSocketUri("/user/ada/api/kernels/k1/channels"), CancellationToken.None));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("503 Service Unavailable", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("2026-11-28T12:00:00.000Z", (await RoutesAsync()).GetProperty("/user/ada").GetProperty("last_activity").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, socket.HttpStatusCode);
        Assert.Equal(0, _broker.Calls);
    }

    [Fact]
    public async Task WithAnErrorTarget_TheErrorPageComesFromIt_WithTheCodeAndTheUrl()
    {
        StartGateway(new() { ["Gateway:ConfigurableProxy:ErrorTarget"] = new Uri(_hub.Url, "hub/error").ToString() });
        await AddRouteAsync("/user/ada/", new Uri($"http://127.0.0.1:{FreePort.Next()}/"), new() { ["user"] = "ada" });

        using var page = await _public.GetAsync("user/ada/tree?x=1");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, page.StatusCode);
        Assert.Equal("hub", (await page.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("backend").GetString());
        var asked = _hub.Requests.Single();
        Assert.Equal("/hub/error/503", asked.Path);
        Assert.Equal("?url=%2Fuser%2Fada%2Ftree%3Fx%3D1", asked.Query);
    }

    private static async Task<string> EchoAsync(ClientWebSocket socket, string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[1024];
        var received = await socket.ReceiveAsync(buffer, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, received.Count);
    }

    /// <summary>Records whom the relay asks the broker for; every cell attaches at once.</summary>
    private sealed class RecordingBroker : IExecutionBroker
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public TaskCompletionSource<(string KernelId, string User)> FirstCall { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<ExecutionDecision> ExecuteAsync(string kernelId, string user, ExecutionRequest request, Func<ExecutionProgress, CancellationToken, ValueTask> onProgress, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            FirstCall.TrySetResult((kernelId, user));
            return Task.FromResult(ScriptedExecutionBroker.Attached());
        }
    }
}
