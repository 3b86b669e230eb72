using Attach.BrowserTests.Support;
using Microsoft.Playwright;
using static Attach.BrowserTests.Lab.LabFrontEnd;
using static Microsoft.Playwright.Assertions;

namespace Attach.BrowserTests.Lab;

/// <summary>
/// The Attach JupyterLab extension in a real JupyterLab 4 front end (notebook-extension/lab-app on Debian's
/// jupyterlab-server and jupyter_server), behind the real gateway, broker and simulated agent, in Debian's Chromium.
/// </summary>
public sealed class JupyterLabExtensionTests
{
    private const string AttachedLabel = @"^GPU: A100 80GB \(simulated\), 20 GiB";

    [Fact]
    public async Task The_status_item_follows_a_notebook_from_detached_through_attached_to_the_idle_release()
    {
        await using var lab = await LabFrontEnd.StartAsync(idleTimeout: TimeSpan.FromSeconds(8));
        lab.CreateNotebook("gpu.ipynb");
        var context = await lab.Chromium.NewContextAsync();
        var page = await lab.OpenNotebookAsync(context, "gpu.ipynb");
        var item = StatusItem(page);
        await Expect(item).ToHaveTextAsync("GPU: detached");
        await Chromium.ScreenshotAsync(page, "lab-detached");

        // The gateway injects the page badge into every HTML page, but on a JupyterLab that loads the extension the
        // badge steps aside: the status bar already says it, and the badge would cover the status bar's right end.
        await Expect(page.Locator("script[src$='/attach/static/badge.js']")).ToHaveCountAsync(1);
        await Expect(page.Locator("[data-attach-badge]")).ToHaveCountAsync(0);

        // A cell that needs no GPU runs as usual and attaches nothing.
        await RunInNewCellAsync(page, "print(6 * 7)");
        await Expect(Outputs(page).Last).ToHaveTextAsync("42");
        await Expect(item).ToHaveTextAsync("GPU: detached");

        // A GPU cell: the gateway holds it while the broker attaches; the item shows attaching, then the slice.
        await RecordStatusLabelsAsync(page);
        await RunInNewCellAsync(page, "device = \"cuda\"\nprint(\"running on\", device)");
        await Expect(Outputs(page).Filter(new() { HasText = "attach: GPU" })).ToHaveCountAsync(1);
        await Expect(Outputs(page).Filter(new() { HasText = "running on cuda" })).ToHaveCountAsync(1);
        await Expect(item).ToHaveTextAsync(Pattern(AttachedLabel));
        var labels = await RecordedStatusLabelsAsync(page);
        var attaching = labels.ToList().FindIndex(l => l.StartsWith("GPU: attaching", StringComparison.Ordinal));
        var attached = labels.ToList().FindIndex(l => Pattern(AttachedLabel).IsMatch(l));
        Assert.True(attaching >= 0 && attaching < attached, "the item showed: " + string.Join(" | ", labels));
        await Expect(item).ToHaveTextAsync(Pattern(AttachedLabel + @" · idle release in \d+ s$"));
        await Chromium.ScreenshotAsync(page, "lab-attached");

        // The panel: the GPU as the broker names it, the slice, since when.
        await item.ClickAsync();
        var panel = page.Locator(".attach-panel");
        await Expect(panel).ToContainTextAsync("GPU 0 on test-node: A100 80GB (simulated)");
        await Expect(panel).ToContainTextAsync("Slice: 20 GiB of 80 GiB");
        await Expect(panel.GetByRole(AriaRole.Button, new() { Name = "Release now" })).ToBeEnabledAsync();
        await Chromium.ScreenshotAsync(page, "lab-panel");
        await item.ClickAsync();
        await Expect(panel).ToHaveCountAsync(0);

        // Idle: the broker releases the slice after the idle timeout; the item and a notification say so.
        await Expect(item).ToHaveTextAsync(Pattern("^GPU: (detached|released, .* kept)$"), new() { Timeout = 60_000 });
        var released = page.Locator(".Toastify__toast").Filter(new() { HasText = "GPU released" });
        await Expect(released).ToHaveCountAsync(1);
        await Expect(released).ToBeInViewportAsync(new() { Ratio = 1 });
        await Chromium.ScreenshotAsync(page, "lab-released");
    }

    [Fact]
    public async Task Release_now_gives_the_slice_back_and_the_slice_selector_shows_what_the_server_answered()
    {
        await using var lab = await LabFrontEnd.StartAsync(idleTimeout: TimeSpan.FromMinutes(5));
        lab.CreateNotebook("release.ipynb");
        var page = await lab.OpenNotebookAsync(await lab.Chromium.NewContextAsync(), "release.ipynb");
        var item = StatusItem(page);
        await RunInNewCellAsync(page, "device = \"cuda\"");
        await Expect(item).ToHaveTextAsync(Pattern(AttachedLabel));

        await item.ClickAsync();
        var panel = page.Locator(".attach-panel");
        await panel.GetByRole(AriaRole.Button, new() { Name = "Release now" }).ClickAsync();
        await Expect(item).ToHaveTextAsync("GPU: detached");
        await Expect(panel.Locator(".attach-panel-message")).ToHaveTextAsync("Released.");

        // The next attach's slice: the broker's answer is shown as it is, success or the server's error.
        await panel.Locator("select.attach-slice").SelectOptionAsync(new SelectOptionValue { Label = "10 GiB" });
        var message = panel.Locator(".attach-panel-message");
        await Expect(message).ToHaveTextAsync(Pattern(@"^(The next attach asks for 10 GiB\.|Slice size not set: \d{3} .*)$"));
        await Chromium.ScreenshotAsync(page, "lab-slice-preference");
        if ((await message.TextContentAsync())!.StartsWith("The next attach", StringComparison.Ordinal))
        {
            await item.ClickAsync();
            await RunInNewCellAsync(page, "device = \"cuda\"");
            await Expect(item).ToHaveTextAsync(Pattern(@"^GPU: A100 80GB \(simulated\), 10 GiB"));
        }
    }

    [Fact]
    public async Task Each_notebook_shows_its_own_kernel_only()
    {
        // The gateway serves one user today: two notebooks with two kernels stand in for two users until the
        // multi-user gateway lands; the hub already keys every subscription by user (AttachHub.GroupFor).
        await using var lab = await LabFrontEnd.StartAsync(idleTimeout: TimeSpan.FromMinutes(5));
        lab.CreateNotebook("first.ipynb");
        lab.CreateNotebook("second.ipynb");
        var page = await lab.OpenNotebookAsync(await lab.Chromium.NewContextAsync(), "first.ipynb");
        var item = StatusItem(page);
        await RunInNewCellAsync(page, "device = \"cuda\"");
        await Expect(item).ToHaveTextAsync(Pattern(AttachedLabel));

        // The second notebook, opened from the file browser in the same JupyterLab: its own kernel, detached.
        // The file was written to disk behind JupyterLab's back; refresh the listing as a user would, rather than
        // wait for its poll (which a loaded machine can stretch past a minute).
        var second = page.Locator(".jp-DirListing-item[title*='second.ipynb']");
        for (var attempt = 0; attempt < 5 && await second.CountAsync() == 0; attempt++)
        {
            await page.Locator(".jp-FileBrowser [data-command='filebrowser:refresh']").ClickAsync();
            await page.WaitForTimeoutAsync(2_000);
        }

        await second.DblClickAsync();
        await Expect(page.Locator(".jp-NotebookPanel:not(.lm-mod-hidden)")).ToHaveCountAsync(1);
        await Expect(page.Locator(".lm-DockPanel-tabBar .lm-mod-current")).ToContainTextAsync("second.ipynb");
        await WaitForKernelAsync(page);
        await Expect(item).ToHaveTextAsync("GPU: detached");
        await Chromium.ScreenshotAsync(page, "lab-other-kernel");

        // Back to the first: the item follows the current notebook.
        await page.Locator(".lm-DockPanel-tabBar .lm-TabBar-tab", new() { HasText = "first.ipynb" }).ClickAsync();
        await Expect(item).ToHaveTextAsync(Pattern(AttachedLabel));

        // Another browser (another session of the same user) opening only the second notebook sees it detached.
        var other = await lab.OpenNotebookAsync(await lab.Chromium.NewContextAsync(), "second.ipynb");
        await Expect(StatusItem(other)).ToHaveTextAsync("GPU: detached");
    }

    [Fact]
    public async Task The_item_says_status_unavailable_while_the_hub_is_gone_and_recovers_when_it_is_back()
    {
        await using var lab = await LabFrontEnd.StartAsync(idleTimeout: TimeSpan.FromMinutes(5));
        lab.CreateNotebook("hub.ipynb");
        var page = await lab.OpenNotebookAsync(await lab.Chromium.NewContextAsync(), "hub.ipynb");
        var item = StatusItem(page);
        await Expect(item).ToHaveTextAsync("GPU: detached");

        await lab.Deployment.StopBrokerAsync();
        await Expect(item).ToHaveTextAsync("GPU: status unavailable", new() { Timeout = 30_000 });
        await Chromium.ScreenshotAsync(page, "lab-unavailable");

        await lab.Deployment.RestartBrokerAsync();
        await Expect(item).ToHaveTextAsync("GPU: detached", new() { Timeout = 60_000 });
        await RunInNewCellAsync(page, "device = \"cuda\"");
        await Expect(item).ToHaveTextAsync(Pattern(AttachedLabel));
    }
}
