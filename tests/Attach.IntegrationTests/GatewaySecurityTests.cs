using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using Attach.Testing;
using Attach.Testing.Jupyter;
using Microsoft.AspNetCore.SignalR.Client;

namespace Attach.IntegrationTests;

/// <summary>
/// Every route of the gateway is authenticated, nothing unauthenticated reaches the Jupyter Server, the
/// Jupyter token never reaches a client, no secret reaches a log, and a bad client hurts only itself.
/// </summary>
[Collection(EmbeddedDeploymentCollection.Name)]
public sealed class GatewaySecurityTests(EmbeddedDeploymentFixture fixture)
{
    private readonly EmbeddedDeployment _deployment = fixture.Deployment;

    public static TheoryData<string, string> ProtectedRoutes => new()
    {
        { "GET", "api/kernels" },
        { "POST", "api/kernels" },
        { "GET", "api/contents" },
        { "GET", "tree" },
        { "GET", "attach/api/v1/pool" },
        { "GET", "attach/api/v1/kernels" },
        { "POST", "hubs/attach/negotiate?negotiateVersion=1" },
    };

    [Theory]
    [MemberData(nameof(ProtectedRoutes))]
    public async Task RequestWithoutToken_IsRefused_AndNothingReachesJupyter(string method, string path)
    {
        var before = await _deployment.JupyterKernelIdsAsync();
        using var anonymous = new HttpClient { BaseAddress = _deployment.GatewayUrl };
        using var wrong = new HttpClient { BaseAddress = _deployment.GatewayUrl };
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", "not-the-token-" + new string('x', 32));

        foreach (var client in new[] { anonymous, wrong })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method == "POST")
            {
                request.Content = new StringContent("""{"name":"python3"}""", Encoding.UTF8, "application/json");
            }

            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        Assert.Equal(before.Order(), (await _deployment.JupyterKernelIdsAsync()).Order());
    }

    [Fact]
    public async Task KernelChannelWithoutToken_IsRefused()
    {
        var kernelId = await _deployment.StartKernelAsync();

        var refused = await Assert.ThrowsAsync<WebSocketConnectFailedException>(
            () => KernelChannelClient.ConnectAsync(_deployment.GatewayUrl, kernelId, token: null, subprotocol: null, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task HubWithoutToken_IsRefused()
    {
        await using var connection = new HubConnectionBuilder().WithUrl(new Uri(_deployment.GatewayUrl, "hubs/attach")).Build();

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => connection.StartAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task BrowserOpeningTheTokenUrl_GetsASessionCookie_AndTheTokenLeavesTheAddress()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true };
        using var browser = new HttpClient(handler) { BaseAddress = _deployment.GatewayUrl };
        browser.DefaultRequestHeaders.Accept.ParseAdd("text/html");

        using var login = await browser.GetAsync($"api/status?token={_deployment.GatewayToken}&x=1");
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/api/status?x=1", login.Headers.Location!.OriginalString);
        Assert.DoesNotContain(_deployment.GatewayToken, string.Join(";", login.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);

        using var withCookie = await browser.GetAsync("api/status");
        Assert.Equal(HttpStatusCode.OK, withCookie.StatusCode);
    }

    [Fact]
    public async Task CrossSiteRequestWithTheSessionCookie_IsRefused()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true };
        using var browser = new HttpClient(handler) { BaseAddress = _deployment.GatewayUrl };
        browser.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        (await browser.GetAsync($"tree?token={_deployment.GatewayToken}")).Dispose();
        var before = await _deployment.JupyterKernelIdsAsync();

        using var request = new HttpRequestMessage(HttpMethod.Post, "api/kernels") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.Add("Origin", "https://evil.example");
        using var response = await browser.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before.Order(), (await _deployment.JupyterKernelIdsAsync()).Order());
    }

    [Fact]
    public async Task JupyterToken_NeverReachesTheClient()
    {
        using var gateway = _deployment.GatewayClient();
        foreach (var path in new[] { "", "api/status", "api/kernels", "api/kernelspecs", "api/contents", "login", "attach/api/v1/pool" })
        {
            using var response = await gateway.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            var headers = response.Headers.ToString() + response.Content.Headers;
            Assert.DoesNotContain(_deployment.JupyterToken, body, StringComparison.Ordinal);
            Assert.DoesNotContain(_deployment.JupyterToken, headers, StringComparison.Ordinal);
            Assert.DoesNotContain(_deployment.InternalKey, body + headers, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AgentOnlyBrokerRoutes_AreNotReachableThroughTheGateway()
    {
        using var gateway = _deployment.GatewayClient();

        using var response = await gateway.PostAsync("attach/api/v1/nodes/evil/heartbeat", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.False(response.IsSuccessStatusCode, $"got {(int)response.StatusCode}");
    }

    [Fact]
    public async Task MalformedFrame_ClosesOnlyThatConnection_WithInvalidPayload()
    {
        var kernelId = await _deployment.StartKernelAsync();
        await using var bad = await KernelChannelClient.ConnectAsync(_deployment.GatewayUrl, kernelId, _deployment.GatewayToken, KernelChannelClient.V1, CancellationToken.None);
        await using var good = await KernelChannelClient.ConnectAsync(_deployment.GatewayUrl, kernelId, _deployment.GatewayToken, KernelChannelClient.V1, CancellationToken.None);

        // An offset table that points past the end of the frame.
        var frame = KernelChannelClient.EncodeV1([Encoding.UTF8.GetBytes("shell"), "{}"u8.ToArray()]);
        BitConverter.TryWriteBytes(frame.AsSpan(16), (ulong)10_000);
        await bad.SendRawAsync(frame, WebSocketMessageType.Binary, CancellationToken.None);

        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, await bad.WaitForCloseAsync(TimeSpan.FromSeconds(30)));
        var messages = await good.CollectUntilDoneAsync(await good.SendExecuteRequestAsync("print('still here')", CancellationToken.None), TimeSpan.FromSeconds(60));
        Assert.Contains(messages, m => m.Printed("still here"));
    }

    [Fact]
    public async Task UnknownKernel_Is404_NotAnOpenSocket()
    {
        var refused = await Assert.ThrowsAsync<WebSocketConnectFailedException>(
            () => KernelChannelClient.ConnectAsync(_deployment.GatewayUrl, Guid.NewGuid().ToString(), _deployment.GatewayToken, null, CancellationToken.None));

        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
    }

    [Fact]
    public async Task Secrets_NeverAppearInAnyLog()
    {
        // Exercise the paths that could log a URL: token in the query, a WebSocket, the hub, the broker API.
        using var anonymous = new HttpClient { BaseAddress = _deployment.GatewayUrl };
        (await anonymous.GetAsync($"api/status?token={_deployment.GatewayToken}")).Dispose();
        (await anonymous.GetAsync($"api/kernels?token=wrong{_deployment.GatewayToken}")).Dispose();
        var kernelId = await _deployment.StartKernelAsync();
        await using (var kernel = await KernelChannelClient.ConnectAsync(_deployment.GatewayUrl, kernelId, _deployment.GatewayToken, null, CancellationToken.None))
        {
            await kernel.CollectUntilDoneAsync(await kernel.SendExecuteRequestAsync("device = 'cuda'", CancellationToken.None), TimeSpan.FromSeconds(60));
        }

        await using (var hub = await HubClient.ConnectAsync(_deployment.GatewayUrl, _deployment.GatewayToken, CancellationToken.None))
        {
            await hub.SubscribeAsync(kernelId, CancellationToken.None);
        }

        var logs = _deployment.AllOutput();
        Assert.NotEmpty(logs);
        foreach (var secret in _deployment.Secrets)
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }
}
