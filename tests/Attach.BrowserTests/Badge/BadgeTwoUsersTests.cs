using Attach.BrowserTests.Support;
using Attach.Testing;

namespace Attach.BrowserTests.Badge;

/// <summary>
/// The badge on Debian's Notebook 6 behind the multi-user gateway: two users in two browser contexts, each signed
/// in as themselves, each with a GPU cell attached.
/// </summary>
public sealed class BadgeTwoUsersTests
{
    [Fact]
    public async Task Each_users_badge_follows_only_their_own_kernels_even_where_it_lists_every_kernel_they_have()
    {
        await using var deployment = new EmbeddedDeployment { Flavor = JupyterFlavor.Notebook6, UserNames = ["ada", "bob"], IdleTimeout = TimeSpan.FromMinutes(5) };
        await deployment.StartAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var kernels = new Dictionary<string, string>();
        var contexts = new Dictionary<string, Microsoft.Playwright.IBrowserContext>();
        foreach (var user in new[] { "ada", "bob" })
        {
            var notebook = Notebooks.Write(deployment.Users[user].NotebookDirectory, $"{user}.ipynb", Notebooks.CpuThenGpu);
            contexts[user] = await chromium.NewContextAsync();
            var badge = await BadgePage.OpenAsync(
                await contexts[user].NewPageAsync(),
                new Uri(deployment.GatewayUrl, $"user/{user}/notebooks/{notebook}?token={deployment.Users[user].Token}"));
            kernels[user] = await badge.WaitForKernelAsync();
            await badge.RunCellAsync(1, "gpu cell ran on cuda");
            await badge.WaitForStateAsync("attached");
            await Chromium.ScreenshotAsync(badge.Page, $"badge-two-users-{user}-notebook");
        }

        // A page that is not a notebook (Notebook 6's file tree): the badge follows every kernel the broker knows
        // as the signed-in user's, which is theirs alone, never the other user's attached one.
        foreach (var (user, other) in new[] { ("ada", "bob"), ("bob", "ada") })
        {
            var tree = await BadgePage.OpenAsync(await contexts[user].NewPageAsync(), new Uri(deployment.GatewayUrl, $"user/{user}/tree"));
            await tree.WaitAsync($"() => window.attachBadge && attachBadge.kernels().includes('{kernels[user]}') && attachBadge.state() === 'attached'");
            var followed = await tree.Page.EvaluateAsync<string[]>("() => attachBadge.kernels()");
            Assert.Equal([kernels[user]], followed);
            Assert.DoesNotContain(kernels[other][..8], await tree.Page.EvaluateAsync<string>("() => document.querySelector('[data-attach-badge]').shadowRoot.textContent"), StringComparison.Ordinal);
            await Chromium.ScreenshotAsync(tree.Page, $"badge-two-users-{user}-tree");
        }
    }
}
