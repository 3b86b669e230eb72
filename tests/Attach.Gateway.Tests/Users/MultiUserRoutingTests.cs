using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Attach.Gateway.Tests.Hosting;

namespace Attach.Gateway.Tests.Users;

/// <summary>Multi-user mode through the whole gateway pipeline, with real HTTP backends that record what reached them.</summary>
public sealed class MultiUserRoutingTests : IAsyncLifetime
{
    private TwoUsers _users = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _users = await TwoUsers.StartAsync();
        _gateway = new GatewayFactory(_users.Settings());
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _users.DisposeAsync();
    }

    private HttpClient ClientFor(string token)
    {
        var client = _gateway.CreateClient(new() { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", token);
        return client;
    }

    [Fact]
    public async Task AUsersPrefix_ReachesTheirJupyter_WithThePathUnchanged_AndTheirJupyterToken()
    {
        using var ada = ClientFor(_users.AdaToken);

        var answer = await ada.GetFromJsonAsync<JsonElement>("/user/ada/api/contents?type=directory");

        Assert.Equal("ada-jupyter", answer.GetProperty("backend").GetString());
        Assert.Equal("/user/ada/api/contents", answer.GetProperty("path").GetString());
        var seen = Assert.Single(_users.AdaJupyter.Requests);
        Assert.Equal("token " + _users.AdaJupyterToken, seen.Authorization);
        Assert.Empty(_users.BobJupyter.Requests);
    }

    [Fact]
    public async Task EachUsersToken_OpensOnlyTheirOwnServer()
    {
        using var bob = ClientFor(_users.BobToken);

        var answer = await bob.GetFromJsonAsync<JsonElement>("/user/bob/api/status");

        Assert.Equal("bob-jupyter", answer.GetProperty("backend").GetString());
        Assert.Equal("token " + _users.BobJupyterToken, Assert.Single(_users.BobJupyter.Requests).Authorization);
    }

    [Theory]
    [InlineData("GET", "/user/bob/api/kernels")]
    [InlineData("POST", "/user/bob/api/kernels")]
    [InlineData("GET", "/user/bob")]
    [InlineData("GET", "/user/bob/api/kernels/1234/channels")]
    [InlineData("DELETE", "/user/bob/api/sessions/1")]
    [InlineData("GET", "/user/BOB/tree")]
    [InlineData("GET", "/user/Ada/tree")]
    public async Task AnotherUsersPrefix_Is403_AndTheirBackendIsNeverTouched(string method, string path)
    {
        using var ada = ClientFor(_users.AdaToken);

        using var response = await ada.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("/user/ada/", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.All(_users.Backends, b => Assert.Empty(b.Requests));
    }

    [Fact]
    public async Task AnUnknownUsersPrefix_GetsTheSameAnswerAsAnExistingOne_SoNamesCannotBeProbed()
    {
        using var ada = ClientFor(_users.AdaToken);

        using var existing = await ada.GetAsync("/user/bob/tree");
        using var unknown = await ada.GetAsync("/user/carol/tree");

        Assert.Equal(HttpStatusCode.Forbidden, existing.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, unknown.StatusCode);
        var a = await existing.Content.ReadFromJsonAsync<JsonElement>();
        var b = await unknown.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(a.GetProperty("detail").GetString(), b.GetProperty("detail").GetString());
        Assert.Equal(a.GetProperty("title").GetString(), b.GetProperty("title").GetString());
    }

    [Fact]
    public async Task CodeServer_IsReachedUnderVscode_WithThePrefixStripped_AndNoGatewayCredentials()
    {
        using var ada = ClientFor(_users.AdaToken);

        var answer = await ada.GetFromJsonAsync<JsonElement>("/user/ada/vscode/static/out/main.js?token=" + _users.AdaToken + "&v=1");

        Assert.Equal("ada-code", answer.GetProperty("backend").GetString());
        Assert.Equal("/static/out/main.js", answer.GetProperty("path").GetString());
        var seen = Assert.Single(_users.AdaCodeServer.Requests);
        Assert.Null(seen.Authorization);
        Assert.Equal("?v=1", seen.Query);
        Assert.Empty(_users.AdaJupyter.Requests);
    }

    [Fact]
    public async Task CodeServerWithoutTheTrailingSlash_IsRedirectedToIt()
    {
        using var ada = ClientFor(_users.AdaToken);

        using var response = await ada.GetAsync("/user/ada/vscode");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/user/ada/vscode/", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task AUserWithoutCodeServer_GetsNoRouteToOne()
    {
        using var bob = ClientFor(_users.BobToken);

        var answer = await bob.GetFromJsonAsync<JsonElement>("/user/bob/vscode/x");

        // Their Jupyter answers (it would say 404), never ada's code-server.
        Assert.Equal("bob-jupyter", answer.GetProperty("backend").GetString());
        Assert.Empty(_users.AdaCodeServer.Requests);
    }

    [Fact]
    public async Task TheRoot_RedirectsToTheUsersOwnServer()
    {
        using var bob = ClientFor(_users.BobToken);

        using var response = await bob.GetAsync("/");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/user/bob/", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task JupyterPathsOutsideAnyPrefix_Are404_NotSomeonesServer()
    {
        using var ada = ClientFor(_users.AdaToken);

        using var response = await ada.GetAsync("/api/kernels");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("/user/ada/", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.All(_users.Backends, b => Assert.Empty(b.Requests));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-a-token-of-anyone-xxxxxxxxxxxxxxxxxxxxxxx")]
    public async Task WithoutAValidToken_Is401_AndNoBackendIsTouched(string? token)
    {
        using var client = token is null ? _gateway.CreateClient() : ClientFor(token);

        using var response = await client.GetAsync("/user/ada/api/kernels");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.All(_users.Backends, b => Assert.Empty(b.Requests));
    }

    [Fact]
    public async Task TheTokenInTheQuery_WorksForClientsThatCannotSetHeaders()
    {
        using var client = _gateway.CreateClient();

        var answer = await client.GetFromJsonAsync<JsonElement>($"/user/ada/api/status?token={_users.AdaToken}");

        Assert.Equal("ada-jupyter", answer.GetProperty("backend").GetString());
        Assert.DoesNotContain(_users.AdaToken, Assert.Single(_users.AdaJupyter.Requests).Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheUsersJupyterToken_IsScrubbedFromPages()
    {
        using var ada = ClientFor(_users.AdaToken);
        ada.DefaultRequestHeaders.Accept.ParseAdd("text/html");

        var page = await ada.GetStringAsync("/user/ada/page");

        Assert.Contains("ada-jupyter", page, StringComparison.Ordinal);
        Assert.DoesNotContain(_users.AdaJupyterToken, page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBrokerApiAboutAKernelNotOnTheUsersOwnServer_Is404_AndNeverReachesTheBroker()
    {
        _users.AdaJupyter.KernelIds.Add("ada-kernel");
        using var ada = ClientFor(_users.AdaToken);

        using var others = await ada.PostAsync("/attach/api/v1/kernels/bob-kernel/executions", JsonContent.Create(new { msgId = "m", code = "device = 'cuda'" }));
        using var own = await ada.GetAsync("/attach/api/v1/kernels/ada-kernel");

        Assert.Equal(HttpStatusCode.NotFound, others.StatusCode);
        Assert.Contains("not one of yours", await others.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // Ada's own kernel passes the check and goes on to the broker (which does not run in this test: 502).
        Assert.Equal(HttpStatusCode.BadGateway, own.StatusCode);
        Assert.Equal(["/user/ada/api/kernels/bob-kernel", "/user/ada/api/kernels/ada-kernel"], _users.AdaJupyter.Requests.Select(r => r.Path));
        Assert.All(_users.AdaJupyter.Requests, r => Assert.Equal("token " + _users.AdaJupyterToken, r.Authorization));
        Assert.Empty(_users.BobJupyter.Requests);
    }

    [Fact]
    public async Task TheUsersKernelChannel_GoesToTheRelay_NotStraightToJupyter()
    {
        using var ada = ClientFor(_users.AdaToken);

        using var response = await ada.GetAsync("/user/ada/api/kernels/k1/channels");

        // The relay answers a plain GET itself (the GPU hold needs it in the path); Jupyter is not asked.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("WebSockets", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_users.AdaJupyter.Requests);
    }
}
