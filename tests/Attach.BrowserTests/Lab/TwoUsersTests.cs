using System.Text.Json;
using Attach.BrowserTests.Support;
using Microsoft.Playwright;
using static Attach.BrowserTests.Lab.LabFrontEnd;
using static Microsoft.Playwright.Assertions;

namespace Attach.BrowserTests.Lab;

/// <summary>
/// The gateway's multi-user mode (a users file, each user's own JupyterLab under /user/{name}/) with two users in
/// two browser contexts, each signed in as themselves, and an admin: what each of them sees of the other.
/// </summary>
public sealed class TwoUsersTests
{
    private const string AttachedLabel = @"^GPU: A100 80GB \(simulated\), 20 GiB";

    [Fact]
    public async Task Two_users_in_two_browsers_see_only_their_own_kernels_and_leases_and_an_admin_sees_both()
    {
        await using var lab = await LabFrontEnd.StartAsync(idleTimeout: TimeSpan.FromMinutes(5), users: ["ada", "bob", "grace"], admins: ["grace"]);
        lab.CreateNotebook("ada.ipynb", "ada");
        lab.CreateNotebook("bob.ipynb", "bob");
        var ada = await lab.OpenNotebookAsync(await lab.Chromium.NewContextAsync(), "ada.ipynb", "ada");
        var bob = await lab.OpenNotebookAsync(await lab.Chromium.NewContextAsync(), "bob.ipynb", "bob");
        await Expect(StatusItem(ada)).ToHaveTextAsync("GPU: detached");
        await Expect(StatusItem(bob)).ToHaveTextAsync("GPU: detached");

        // Each attaches a slice from their own notebook; each status item shows their own kernel's slice.
        await RunInNewCellAsync(ada, "device = \"cuda\"");
        await Expect(StatusItem(ada)).ToHaveTextAsync(Pattern(AttachedLabel));
        await Expect(StatusItem(bob)).ToHaveTextAsync("GPU: detached");
        await RunInNewCellAsync(bob, "device = \"cuda\"");
        await Expect(StatusItem(bob)).ToHaveTextAsync(Pattern(AttachedLabel));
        await Chromium.ScreenshotAsync(ada, "two-users-ada-lab");
        await Chromium.ScreenshotAsync(bob, "two-users-bob-lab");
        var adaKernel = Assert.Single(await lab.Deployment.JupyterKernelIdsAsync("ada"));
        var bobKernel = Assert.Single(await lab.Deployment.JupyterKernelIdsAsync("bob"));

        // The hub: ada subscribing to bob's kernel hears what an unknown kernel would say (detached, no slice, her
        // own name as the owner), never bob's attached lease; her own kernel answers attached, so the check can fail.
        var own = await SubscribeThroughHubAsync(ada, adaKernel);
        Assert.Equal("attached", own.GetProperty("state").GetString(), ignoreCase: true);
        var other = await SubscribeThroughHubAsync(ada, bobKernel);
        Assert.Equal("detached", other.GetProperty("state").GetString(), ignoreCase: true);
        Assert.Equal("ada", other.GetProperty("owner").GetString());
        Assert.Equal(JsonValueKind.Null, other.GetProperty("attachment").ValueKind);
        Assert.DoesNotContain("bob", other.GetRawText(), StringComparison.Ordinal);

        // The broker API through the gateway: bob's kernel is refused to ada's session, her own is hers.
        var refused = await ada.Context.APIRequest.GetAsync(new Uri(lab.Deployment.GatewayUrl, $"attach/api/v1/kernels/{bobKernel}").ToString());
        Assert.Equal(404, refused.Status);
        Assert.Contains("not one of yours", await refused.TextAsync(), StringComparison.Ordinal);
        var mine = await ada.Context.APIRequest.GetAsync(new Uri(lab.Deployment.GatewayUrl, $"attach/api/v1/kernels/{adaKernel}").ToString());
        Assert.Equal(200, mine.Status);

        // The dashboard: each user's lists their own kernel and lease only.
        foreach (var (page, me, them, theirs) in new[] { (ada, "ada", "bob", bobKernel), (bob, "bob", "ada", adaKernel) })
        {
            var myKernel = me == "ada" ? adaKernel : bobKernel;
            var dashboard = await OpenDashboardAsync(lab.Deployment.GatewayUrl, page.Context);
            await Expect(dashboard.Locator($"tr[data-kernel='{myKernel}']")).ToHaveAttributeAsync("data-state", "attached");
            await Expect(dashboard.Locator(".gpu").Filter(new() { HasText = $"20 GiB · {me}" })).ToHaveCountAsync(1);
            await Expect(dashboard.Locator($"tr[data-kernel='{theirs}']")).ToHaveCountAsync(0);
            await Expect(dashboard.Locator("main")).Not.ToContainTextAsync(them);
            await Expect(dashboard.Locator("main")).Not.ToContainTextAsync(theirs[..8]);
            await Expect(dashboard.GetByRole(AriaRole.Heading, new() { Name = "Queue" })).ToHaveCountAsync(0);
            await Chromium.ScreenshotAsync(dashboard, $"two-users-{me}-dashboard");
        }

        // An admin (the users file's "admin": true) sees every kernel, who holds which slice, and the queue.
        var admin = await OpenDashboardAsync(lab.Deployment.GatewayUrl, await lab.Chromium.NewContextAsync(), lab.Deployment.Users["grace"].Token);
        await Expect(admin.Locator("header")).ToContainTextAsync("grace · admin");
        await Expect(admin.Locator($"tr[data-kernel='{adaKernel}']")).ToContainTextAsync("ada");
        await Expect(admin.Locator($"tr[data-kernel='{bobKernel}']")).ToContainTextAsync("bob");
        await Expect(admin.Locator(".gpu").Filter(new() { HasText = "20 GiB · ada" })).ToHaveCountAsync(1);
        await Expect(admin.Locator(".gpu").Filter(new() { HasText = "20 GiB · bob" })).ToHaveCountAsync(1);
        await Expect(admin.GetByRole(AriaRole.Heading, new() { Name = "Queue" })).ToHaveCountAsync(1);
        await Expect(admin.Locator("section").Filter(new() { Has = admin.GetByRole(AriaRole.Heading, new() { Name = "Queue" }) }).Locator("pre")).ToHaveCountAsync(1);
        await Chromium.ScreenshotAsync(admin, "dashboard-admin");
    }

    /// <summary>The gateway's dashboard in a page of <paramref name="context"/> (signed in already, or with <paramref name="token"/>).</summary>
    private static async Task<IPage> OpenDashboardAsync(Uri gateway, IBrowserContext context, string? token = null)
    {
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        await page.GotoAsync(new Uri(gateway, "attach/" + (token is null ? "" : $"?token={token}")).ToString());
        await Expect(page.Locator("header h1")).ToHaveTextAsync("Attach · GPU pool");
        return page;
    }

    /// <summary>
    /// Calls the hub's SubscribeKernel from <paramref name="page"/> with the browser's own WebSocket and session
    /// cookie (SignalR's JSON protocol by hand), as any script on the user's page could; returns the status it answers.
    /// </summary>
    private static async Task<JsonElement> SubscribeThroughHubAsync(IPage page, string kernelId)
    {
        var completion = await page.EvaluateAsync<string>(
            """
            (kernelId) => new Promise((resolve, reject) => {
              const RS = '\u001e';
              const socket = new WebSocket(new URL('/hubs/attach', location.href).href.replace(/^http/, 'ws'));
              let handshaken = false;
              socket.onopen = () => socket.send(JSON.stringify({ protocol: 'json', version: 1 }) + RS);
              socket.onerror = () => reject(new Error('the hub socket failed'));
              socket.onmessage = (event) => {
                for (const frame of String(event.data).split(RS).filter((f) => f.length > 0)) {
                  const message = JSON.parse(frame);
                  if (!handshaken) {
                    handshaken = true;
                    if (message.error) { reject(new Error(message.error)); return; }
                    socket.send(JSON.stringify({ type: 1, invocationId: '1', target: 'SubscribeKernel', arguments: [kernelId] }) + RS);
                  } else if (message.type === 3 && message.invocationId === '1') {
                    socket.close();
                    resolve(JSON.stringify(message));
                  }
                }
              };
            })
            """,
            kernelId);
        var message = JsonSerializer.Deserialize<JsonElement>(completion);
        Assert.False(message.TryGetProperty("error", out var error), $"the hub answered an error: {error}");
        return message.GetProperty("result");
    }
}
