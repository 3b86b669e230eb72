using Attach.BrowserTests.Badge;
using Attach.BrowserTests.Support;
using Attach.Testing;
using Microsoft.Playwright;

namespace Attach.BrowserTests.Dashboard;

/// <summary>The pool dashboard at /attach/, in Debian's Chromium, after a real GPU cell on Notebook 6.</summary>
public sealed class DashboardTests
{
    [Fact]
    public async Task The_dashboard_shows_the_users_kernel_on_its_slice_and_plots_the_pool()
    {
        // One sample a second, so the plots have points within the test; the deployment's user is an admin here.
        using var environment = new ScopedEnvironment(("Broker__History__SampleInterval", "00:00:01"), ("Gateway__Admins__0", "ada"));
        await using var deployment = new EmbeddedDeployment { Flavor = JupyterFlavor.Notebook6, IdleTimeout = TimeSpan.FromMinutes(5) };
        await deployment.StartAsync();
        var notebook = Notebooks.Write(deployment.NotebookDirectory, "dashboard.ipynb", Notebooks.CpuThenGpu);
        await using var chromium = await Chromium.LaunchAsync();
        var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        var badge = await BadgePage.OpenAsync(page, new Uri(deployment.GatewayUrl, $"notebooks/{notebook}?token={deployment.GatewayToken}"));
        var kernelId = await badge.WaitForKernelAsync();
        await badge.RunCellAsync(1, "gpu cell ran on cuda");
        await badge.WaitForStateAsync("attached");

        var dashboard = await context.NewPageAsync();
        await BadgePage.OpenAsync(dashboard, new Uri(deployment.GatewayUrl, "attach/"));
        var row = dashboard.Locator($"tr[data-kernel='{kernelId}']").First;
        await row.WaitForAsync(new LocatorWaitForOptions { Timeout = (float)BadgePage.Patience.TotalMilliseconds });
        await dashboard.WaitForFunctionAsync(
            "() => document.querySelectorAll('svg.chart path').length > 0",
            null, new PageWaitForFunctionOptions { Timeout = (float)BadgePage.Patience.TotalMilliseconds });

        Assert.Equal("attached", await row.GetAttributeAsync("data-state"));
        Assert.Contains("(simulated)", await row.InnerTextAsync(), StringComparison.Ordinal);
        // The admin's view names the slice's holder on its GPU.
        Assert.Contains("ada", await dashboard.Locator(".gpu").Filter(new LocatorFilterOptions { HasText = "20 GiB" }).First.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("GPU time today", await dashboard.Locator("[data-usage='gpu-seconds']").InnerTextAsync(), StringComparison.Ordinal);
        await Chromium.ScreenshotAsync(dashboard, "dashboard");
        await dashboard.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.ScreenshotDirectory, "dashboard-full.png"), FullPage = true });
    }
}
