using System.Net.Http.Headers;
using System.Security.Cryptography;
using Attach.BrowserTests.Support;
using Attach.Testing;
using Attach.Testing.Processes;

namespace Attach.BrowserTests.Badge;

/// <summary>
/// The badge on a page JupyterHub routes through the gateway (its configurable-http-proxy API on): Debian's Notebook 6
/// as carol's single-user server (base_url /user/carol/, its own token), opened in Chromium with that server's
/// credentials only. The badge gets carol's gateway identity from her route's server and follows her GPU cell; a
/// browser her server does not accept is told to sign in through JupyterHub.
/// </summary>
public sealed class BadgeJupyterHubRouteTests
{
    [Fact]
    public async Task On_a_hub_route_the_badge_gets_the_users_identity_from_their_server_and_follows_the_GPU_cell_and_a_stranger_is_told_to_sign_in()
    {
        var hubProxy = new HubProxyApi();
        await using var deployment = new EmbeddedDeployment
        {
            IdleTimeout = TimeSpan.FromMinutes(5),
            GatewayEnvironment = hubProxy.GatewayEnvironment,
        };
        await deployment.StartAsync();
        var serverToken = Secret();
        var root = Path.Combine(deployment.NotebookDirectory, "hub-carol");
        Directory.CreateDirectory(root);
        var port = FreePort.Next();
        await using var server = ManagedProcess.Start("notebook-carol", "/usr/bin/python3",
            ["-m", "notebook", $"--NotebookApp.token={serverToken}", $"--NotebookApp.notebook_dir={root}", "--NotebookApp.base_url=/user/carol/",
             "--no-browser", "--allow-root", "--ip=127.0.0.1", $"--port={port}", "--port-retries=0"],
            new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["JUPYTER_RUNTIME_DIR"] = Path.Combine(root, ".runtime") });
        var target = new Uri($"http://127.0.0.1:{port}");
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) })
        {
            await server.WaitUntilReadyAsync(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(target, "/user/carol/api/status"));
                request.Headers.Authorization = new AuthenticationHeaderValue("token", serverToken);
                using var response = await http.SendAsync(request);
                return response.IsSuccessStatusCode;
            }, TimeSpan.FromSeconds(60));
        }

        // jupyterhub/proxy.py's add_user.
        await hubProxy.AddRouteAsync("/user/carol/", target, new Dictionary<string, object> { ["user"] = "carol", ["server_name"] = "" });

        var notebook = Notebooks.Write(root, "hub.ipynb", Notebooks.CpuThenGpu);
        await using var chromium = await Chromium.LaunchAsync();

        // Carol's browser: her server's token in the address (her server sets its cookie), nothing of the gateway's.
        var page = await (await chromium.NewContextAsync()).NewPageAsync();
        var badge = await BadgePage.OpenAsync(page, new Uri(deployment.GatewayUrl, $"user/carol/notebooks/{notebook}?token={serverToken}"));
        await badge.WaitForKernelAsync();
        await badge.RunCellAsync(1, "gpu cell ran on cuda");
        await badge.WaitForStateAsync("attached");
        Assert.Contains("(simulated)", await badge.TextAsync(), StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(page, "badge-jupyterhub-route-attached");

        // Another browser, without carol's credentials: her server sends it to its login page, which carries the badge.
        var stranger = await BadgePage.OpenAsync(await (await chromium.NewContextAsync()).NewPageAsync(), new Uri(deployment.GatewayUrl, "user/carol/tree"));
        await stranger.WaitForStateAsync("signin");
        Assert.Contains("sign in through JupyterHub", await stranger.TextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(await stranger.Page.Context.CookiesAsync(), c => c.Name == "attach_session");
        await Chromium.ScreenshotAsync(stranger.Page, "badge-jupyterhub-route-signin");
    }

    private static string Secret() => Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
}
