using Attach.BrowserTests.Support;
using Attach.Testing;
using Microsoft.Playwright;

namespace Attach.BrowserTests.Badge;

/// <summary>
/// The badge the gateway injects into Debian's Notebook 6, in Debian's Chromium: it follows the page's kernel
/// through a CPU cell, a GPU cell, the idle release and a broker outage, and leaves the host page alone.
/// </summary>
public sealed class BadgeNotebook6Tests
{
    [Fact]
    public async Task The_badge_follows_the_kernel_from_detached_to_attached_to_released_and_through_a_hub_outage()
    {
        await using var deployment = new EmbeddedDeployment { Flavor = JupyterFlavor.Notebook6, IdleTimeout = TimeSpan.FromSeconds(6) };
        await deployment.StartAsync();
        var notebook = Notebooks.Write(deployment.NotebookDirectory, "badge.ipynb", Notebooks.CpuThenGpu);
        await using var chromium = await Chromium.LaunchAsync();
        var page = await (await chromium.NewContextAsync()).NewPageAsync();
        var badge = await BadgePage.OpenAsync(page, new Uri(deployment.GatewayUrl, $"notebooks/{notebook}?token={deployment.GatewayToken}"));
        await badge.WaitForKernelAsync();

        await badge.RunCellAsync(0, "cpu result 45");
        Assert.Equal("detached", await badge.StateAsync());
        Assert.Contains("detached", await badge.TextAsync(), StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(page, "badge-notebook6-detached");

        await badge.RunCellAsync(1, "gpu cell ran on cuda");
        await badge.WaitForStateAsync("attached");
        var attached = await badge.TextAsync();
        Assert.Contains("(simulated)", attached, StringComparison.Ordinal);
        Assert.Contains("GiB slice", attached, StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(page, "badge-notebook6-attached");

        // Nothing runs now: after the idle timeout the broker releases the slice, and the badge says so.
        await badge.WaitAsync("() => attachBadge.state() !== 'attached'");
        await badge.WaitForStateAsync("detached");
        await Chromium.ScreenshotAsync(page, "badge-notebook6-released");

        BrokerOutage.Kill(deployment);
        await badge.WaitForStateAsync("unavailable");
        Assert.Contains("status unavailable", await badge.TextAsync(), StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(page, "badge-notebook6-unavailable");

        await using var restarted = await BrokerOutage.RestartAsync(deployment);
        await badge.WaitForStateAsync("detached");
        Assert.Contains("detached", await badge.TextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_badge_changes_neither_the_host_pages_layout_nor_its_globals_beyond_attachBadge()
    {
        await using var deployment = new EmbeddedDeployment { Flavor = JupyterFlavor.Notebook6 };
        await deployment.StartAsync();
        var notebook = Notebooks.Write(deployment.NotebookDirectory, "layout.ipynb", Notebooks.CpuThenGpu);
        await using var chromium = await Chromium.LaunchAsync();
        var context = await chromium.NewContextAsync();
        var url = new Uri(deployment.GatewayUrl, $"notebooks/{notebook}?token={deployment.GatewayToken}");

        // The same page twice: once with the badge's script refused by the browser, once as served.
        var without = await context.NewPageAsync();
        await without.RouteAsync("**/attach/static/badge.js", route => route.AbortAsync());
        await BadgePage.OpenAsync(without, url);
        var bare = await HostPageAsync(without);

        var with = await context.NewPageAsync();
        await (await BadgePage.OpenAsync(with, url)).WaitForKernelAsync();
        var badged = await HostPageAsync(with);

        Assert.Equal(bare.Layout, badged.Layout);
        Assert.Equal(["attachBadge"], badged.Globals.Except(bare.Globals));
        Assert.Empty(bare.Globals.Except(badged.Globals));
        Assert.Equal(1, await with.Locator("script[src='/attach/static/badge.js']").CountAsync());
        await Chromium.ScreenshotAsync(with, "badge-notebook6-page");
    }

    private static async Task<(string Layout, string[] Globals)> HostPageAsync(IPage page)
    {
        await page.WaitForFunctionAsync(
            "() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()",
            null, new PageWaitForFunctionOptions { Timeout = (float)BadgePage.Patience.TotalMilliseconds });
        var layout = await page.EvaluateAsync<string>("""
            () => ['#header', '#menubar', '#maintoolbar', '#notebook-container', '#notebook', '.cell']
              .map(s => { const r = document.querySelector(s).getBoundingClientRect(); return `${s}:${r.x},${r.y},${r.width},${r.height}`; })
              .concat([`body:${document.body.scrollWidth}x${document.body.scrollHeight}`, `font:${getComputedStyle(document.body).font}`])
              .join(' ')
            """);
        var globals = await page.EvaluateAsync<string[]>("() => Object.keys(window).sort()");
        return (layout, globals);
    }
}
