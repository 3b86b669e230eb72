using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Attach.Contracts.Kernels;
using Attach.Testing;
using Attach.Testing.Jupyter;
using Attach.Testing.Processes;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit.Abstractions;

namespace Attach.IntegrationTests;

/// <summary>
/// The gateway as JupyterHub's proxy, with real processes: the broker, an agent with a simulated pool, the gateway
/// with its configurable-http-proxy API on, and two Debian Jupyter Servers standing in for JupyterHub's single-user
/// servers of carol and dave (base_url /user/{name}/, each with its own token, as a spawner starts them). The routes
/// are added with the requests jupyterhub/proxy.py sends for <c>proxy.add_user</c>.
/// </summary>
public sealed class JupyterHubDeploymentFixture : IAsyncLifetime
{
    private readonly List<ManagedProcess> _servers = [];

    /// <summary>The gateway's configurable-http-proxy API, as JupyterHub drives it.</summary>
    public HubProxyApi Api { get; } = new();

    public EmbeddedDeployment Deployment { get; }

    /// <summary>Each hub user's single-user server: its address (without base_url, as JupyterHub's route target) and token.</summary>
    public Dictionary<string, (Uri Target, string Token)> Servers { get; } = new(StringComparer.Ordinal);

    public JupyterHubDeploymentFixture()
    {
        Deployment = new EmbeddedDeployment
        {
            GatewayEnvironment = Api.GatewayEnvironment,
        };
    }

    public async Task InitializeAsync()
    {
        await Deployment.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        foreach (var name in new[] { "carol", "dave" })
        {
            var port = FreePort.Next();
            var token = Secret();
            var root = Path.Combine(Deployment.NotebookDirectory, "hub-" + name);
            Directory.CreateDirectory(root);
            var server = ManagedProcess.Start("jupyter-" + name, "/usr/bin/python3",
                ["-m", "jupyter_server", $"--ServerApp.token={token}", $"--ServerApp.root_dir={root}", $"--ServerApp.base_url=/user/{name}/",
                 "--no-browser", "--allow-root", "--ip=127.0.0.1", $"--port={port}", "--port-retries=0"],
                new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["JUPYTER_RUNTIME_DIR"] = Path.Combine(root, ".runtime") });
            _servers.Add(server);
            var target = new Uri($"http://127.0.0.1:{port}");
            Servers[name] = (target, token);
            await server.WaitUntilReadyAsync(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(target, $"/user/{name}/api/status"));
                request.Headers.Authorization = new AuthenticationHeaderValue("token", token);
                using var response = await http.SendAsync(request);
                return response.IsSuccessStatusCode;
            }, TimeSpan.FromSeconds(60));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        await Deployment.DisposeAsync();
    }

    public string ServerOutput() => string.Join('\n', _servers.SelectMany(s => s.Output.Select(line => $"[{s.Name}] {line}")));

    private static string Secret() => Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
}

[CollectionDefinition(Name)]
public sealed class JupyterHubDeploymentCollection : ICollectionFixture<JupyterHubDeploymentFixture>
{
    public const string Name = "jupyterhub deployment";
}

/// <summary>
/// A GPU cell through a JupyterHub route is held and attached to a simulated GPU for the user the route names, and
/// is that user's at the broker, nobody else's; a request the user's server refuses leaves nothing behind.
/// </summary>
[Collection(JupyterHubDeploymentCollection.Name)]
public sealed class JupyterHubRouteTests(JupyterHubDeploymentFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan CellTimeout = TimeSpan.FromSeconds(60);
    private readonly EmbeddedDeployment _deployment = fixture.Deployment;

    public async Task InitializeAsync()
    {
        // proxy.py's add_user: add_route("/user/{name}/", server.host, {"user": name, "server_name": ""}).
        foreach (var (name, (target, _)) in fixture.Servers)
        {
            await AddRouteAsync($"/user/{name}/", target, new() { ["user"] = name, ["server_name"] = "" });
        }
    }

    public Task DisposeAsync()
    {
        output.WriteLine(_deployment.AllOutput());
        output.WriteLine(fixture.ServerOutput());
        return Task.CompletedTask;
    }

    private Uri RouteOf(string user) => new(_deployment.GatewayUrl, $"user/{user}/");

    private Task AddRouteAsync(string routespec, Uri target, Dictionary<string, object> data) => fixture.Api.AddRouteAsync(routespec, target, data);

    /// <summary>A kernel on the user's server, started through the hub route with the server's own credential (as the browser would).</summary>
    private async Task<string> StartKernelAsync(string user)
    {
        using var http = new HttpClient { BaseAddress = RouteOf(user) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", fixture.Servers[user].Token);
        using var response = await http.PostAsJsonAsync("api/kernels", new { name = "python3" });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    /// <summary>The broker's kernels of <paramref name="user"/>, asked directly as the gateway asks for a user.</summary>
    private async Task<IReadOnlyList<KernelStatus>> BrokerKernelsOfAsync(string user)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_deployment.BrokerUrl, "api/v1/kernels"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _deployment.InternalKey);
        request.Headers.Add("X-Attach-User", user);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<KernelStatus[]>())!;
    }

    [Fact]
    public async Task AGpuCellThroughCarolsHubRoute_IsHeldAndAttached_ForCarol_AndIsNotDavesKernel()
    {
        var kernelId = await StartKernelAsync("carol");
        await using var kernel = await KernelChannelClient.ConnectAsync(RouteOf("carol"), kernelId, fixture.Servers["carol"].Token, KernelChannelClient.V1, CancellationToken.None);

        var messages = await kernel.CollectUntilDoneAsync(await kernel.SendExecuteRequestAsync("device = \"cuda\"\nprint('carol on gpu')", CancellationToken.None), CellTimeout);

        Assert.Equal(KernelChannelClient.V1, kernel.SubProtocol);
        var attachLine = messages.ToList().FindIndex(m => m.Text?.StartsWith("attach: GPU ", StringComparison.Ordinal) == true);
        var output = messages.ToList().FindIndex(m => m.Printed("carol on gpu"));
        Assert.True(attachLine >= 0 && attachLine < output, "no attach line before the cell's output in: " + string.Join(", ", messages));
        Assert.Contains("(simulated)", messages[attachLine].Text, StringComparison.Ordinal);
        var carols = await BrokerKernelsOfAsync("carol");
        var status = Assert.Single(carols, k => k.KernelId == kernelId);
        Assert.Equal("carol", status.Owner);
        Assert.Equal(KernelState.Attached, status.State);
        Assert.True(status.Attachment!.Simulated);
        Assert.DoesNotContain(await BrokerKernelsOfAsync("dave"), k => k.KernelId == kernelId);
        Assert.DoesNotContain(await BrokerKernelsOfAsync(_deployment.User), k => k.KernelId == kernelId);
    }

    [Theory]
    [InlineData("dave")]
    [InlineData(null)]
    public async Task CarolsRoute_WithoutCarolsCredentials_IsRefusedByHerServer_AndNothingIsHeldOrRegistered(string? asUser)
    {
        var kernelId = await StartKernelAsync("carol");
        var token = asUser is null ? null : fixture.Servers[asUser].Token;

        var refused = await Assert.ThrowsAsync<WebSocketConnectFailedException>(
            () => KernelChannelClient.ConnectAsync(RouteOf("carol"), kernelId, token, KernelChannelClient.V1, CancellationToken.None));
        // And dave's own route does not reach carol's kernel: his server has no such kernel.
        var elsewhere = await Assert.ThrowsAsync<WebSocketConnectFailedException>(
            () => KernelChannelClient.ConnectAsync(RouteOf("dave"), kernelId, fixture.Servers["dave"].Token, KernelChannelClient.V1, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        foreach (var user in new[] { "carol", "dave", _deployment.User })
        {
            Assert.DoesNotContain(await BrokerKernelsOfAsync(user), k => k.KernelId == kernelId);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheServersOwnOriginCheck_StillWorks_ThroughTheRelay(bool sameOrigin)
    {
        var kernelId = await StartKernelAsync("carol");
        // A browser's session: the server's login cookie (a token request sets it), which is what the origin check
        // protects; token-authenticated requests skip it, as a browser's cookie-authenticated ones do not.
        using var cookies = new HttpClientHandler { CookieContainer = new CookieContainer() };
        using (var browser = new HttpClient(cookies))
        {
            using var login = await browser.GetAsync(new Uri(RouteOf("carol"), $"api/status?token={fixture.Servers["carol"].Token}"));
            login.EnsureSuccessStatusCode();
        }

        var cookie = cookies.CookieContainer.GetCookieHeader(RouteOf("carol"));
        Assert.NotEmpty(cookie);
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.AddSubProtocol(KernelChannelClient.V1);
        socket.Options.SetRequestHeader("Cookie", cookie);
        // A page of the gateway's own origin, or another site's page trying to use carol's session.
        socket.Options.SetRequestHeader("Origin", sameOrigin ? _deployment.GatewayUrl.GetLeftPart(UriPartial.Authority) : "https://evil.example");
        socket.Options.CollectHttpResponseDetails = true;
        var uri = new UriBuilder(new Uri(RouteOf("carol"), $"api/kernels/{kernelId}/channels")) { Scheme = "ws" }.Uri;

        if (sameOrigin)
        {
            // The browser's Host reaches the server, so the gateway's origin is the server's own.
            await socket.ConnectAsync(uri, CancellationToken.None);
            Assert.Equal(System.Net.WebSockets.WebSocketState.Open, socket.State);
            await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
        else
        {
            await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None));
            Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
            Assert.DoesNotContain(await BrokerKernelsOfAsync("carol"), k => k.KernelId == kernelId);
        }
    }

    private string GatewayOrigin => _deployment.GatewayUrl.GetLeftPart(UriPartial.Authority);

    /// <summary>What the badge sends: <c>POST {route}/.attach/identity</c> from a page of the gateway's origin.</summary>
    private static HttpRequestMessage IdentityRequest(Uri route, string? origin, string? serverToken = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(route, ".attach/identity"));
        if (origin is not null)
        {
            request.Headers.TryAddWithoutValidation("Origin", origin);
        }

        if (serverToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("token", serverToken);
        }

        return request;
    }

    /// <summary>Runs a GPU cell on <paramref name="user"/>'s server through their route, so the broker files the kernel under them.</summary>
    private async Task<string> GpuKernelOfAsync(string user)
    {
        var kernelId = await StartKernelAsync(user);
        await using var kernel = await KernelChannelClient.ConnectAsync(RouteOf(user), kernelId, fixture.Servers[user].Token, KernelChannelClient.V1, CancellationToken.None);
        await kernel.CollectUntilDoneAsync(await kernel.SendExecuteRequestAsync("device = \"cuda\"\nprint('on gpu')", CancellationToken.None), CellTimeout);
        return kernelId;
    }

    [Fact]
    public async Task ABrowserCarolsServerAccepts_GetsTheGatewayIdentityOfCarol_AndSeesHerKernelsOnly()
    {
        var carols = await GpuKernelOfAsync("carol");
        var daves = await GpuKernelOfAsync("dave");
        // A browser's session on carol's server: its login cookie, scoped to /user/carol/ as JupyterHub's
        // jupyterhub-user-carol cookie is; the browser holds no credential of the gateway's.
        using var browserCookies = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var browser = new HttpClient(browserCookies);
        using (var login = await browser.GetAsync(new Uri(RouteOf("carol"), $"api/status?token={fixture.Servers["carol"].Token}")))
        {
            login.EnsureSuccessStatusCode();
        }

        using (var before = await browser.GetAsync(new Uri(_deployment.GatewayUrl, "attach/api/v1/kernels")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, before.StatusCode);
        }

        using var identity = await browser.SendAsync(IdentityRequest(RouteOf("carol"), GatewayOrigin));
        using var kernels = await browser.GetAsync(new Uri(_deployment.GatewayUrl, "attach/api/v1/kernels"));

        Assert.Equal(HttpStatusCode.NoContent, identity.StatusCode);
        var session = Assert.Single(browserCookies.CookieContainer.GetCookies(_deployment.GatewayUrl), c => c.Name == "attach_session");
        Assert.Equal("/", session.Path);
        Assert.True(session.HttpOnly);
        Assert.Equal(HttpStatusCode.OK, kernels.StatusCode);
        var listed = (await kernels.Content.ReadFromJsonAsync<KernelStatus[]>())!;
        Assert.Contains(listed, k => k.KernelId == carols);
        Assert.DoesNotContain(listed, k => k.KernelId == daves);
        Assert.All(listed, k => Assert.Equal("carol", k.Owner));
    }

    [Fact]
    public async Task TheGatewayIdentity_AlsoOpensTheBadgesHub_ForCarolsKernels()
    {
        var carols = await GpuKernelOfAsync("carol");
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer() };
        using var browser = new HttpClient(handler);
        using var identity = await browser.SendAsync(IdentityRequest(RouteOf("carol"), GatewayOrigin, fixture.Servers["carol"].Token));
        Assert.Equal(HttpStatusCode.NoContent, identity.StatusCode);
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(_deployment.GatewayUrl, "hubs/attach"), o => o.Cookies = handler.CookieContainer)
            .Build();

        await hub.StartAsync();
        var status = await hub.InvokeAsync<KernelStatus?>("SubscribeKernel", carols);

        Assert.NotNull(status);
        Assert.Equal("carol", status.Owner);
    }

    [Theory]
    [InlineData("dave")]
    [InlineData(null)]
    public async Task CarolsIdentity_WithoutCredentialsHerServerAccepts_IsRefused_AndNoCookieIsSet(string? asUser)
    {
        using var browser = new HttpClient(new HttpClientHandler { UseCookies = false });
        var token = asUser is null ? null : fixture.Servers[asUser].Token;

        using var refused = await browser.SendAsync(IdentityRequest(RouteOf("carol"), GatewayOrigin, token));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("sign in through JupyterHub", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(refused.Headers.Contains("Set-Cookie"));
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData(null)]
    public async Task CarolsIdentity_AskedForByAnotherSitesPage_OrWithoutOrigin_IsRefused_EvenWithHerCredentials(string? origin)
    {
        using var browser = new HttpClient(new HttpClientHandler { UseCookies = false });

        using var refused = await browser.SendAsync(IdentityRequest(RouteOf("carol"), origin, fixture.Servers["carol"].Token));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("Cross-origin", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(refused.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task OnARouteWhoseDataNamesNoUser_TheIdentityPath_IsTheRoutesServersAsUnderConfigurableHttpProxy()
    {
        // A route JupyterHub added without user data (a service, the hub's own): the path goes to its server untouched.
        await AddRouteAsync("/services/notebook/", new Uri(fixture.Servers["carol"].Target, "/user/carol/"), new() { ["service"] = "notebook" });
        using var browser = new HttpClient(new HttpClientHandler { UseCookies = false });

        using var response = await browser.SendAsync(IdentityRequest(new Uri(_deployment.GatewayUrl, "services/notebook/"), GatewayOrigin, fixture.Servers["carol"].Token));

        // Carol's server has no such path: Tornado's 404 page (with its own _xsrf cookie), not the gateway's answer.
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], c => c.StartsWith("attach_session=", StringComparison.Ordinal));
    }
}
