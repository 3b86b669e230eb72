using Microsoft.Playwright;

namespace Attach.BrowserTests.Badge;

/// <summary>What a test reads from and does on a Notebook 6 page that carries the badge.</summary>
internal sealed class BadgePage(IPage page)
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public IPage Page => page;

    /// <summary>Opens <paramref name="url"/>, with the patience a shared 2-core CI machine needs for Notebook 6's first load.</summary>
    public static async Task<BadgePage> OpenAsync(IPage page, Uri url)
    {
        await page.GotoAsync(url.ToString(), new PageGotoOptions { Timeout = (float)Patience.TotalMilliseconds });
        return new BadgePage(page);
    }

    /// <summary>Waits until Notebook 6 has a kernel and the badge follows it over a connected hub.</summary>
    public async Task<string> WaitForKernelAsync()
    {
        await WaitAsync("() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()");
        var kernelId = await page.EvaluateAsync<string>("() => Jupyter.notebook.kernel.id");
        await WaitAsync($"() => window.attachBadge && attachBadge.kernels().includes('{kernelId}') && attachBadge.state() !== 'unavailable'");
        return kernelId;
    }

    public Task<string> StateAsync() => page.EvaluateAsync<string>("() => attachBadge.state()");

    public Task<string> TextAsync() => page.Locator("[data-attach-badge] .badge").InnerTextAsync();

    /// <summary>Runs one cell through Notebook 6's own API and waits for its output to contain <paramref name="expected"/>.</summary>
    public async Task RunCellAsync(int index, string expected)
    {
        await page.EvaluateAsync($"() => {{ Jupyter.notebook.select({index}); Jupyter.notebook.execute_cells([{index}]); }}");
        await page.Locator($".cell:nth-child({index + 1}) .output_area").Filter(new LocatorFilterOptions { HasText = expected })
            .WaitForAsync(new LocatorWaitForOptions { Timeout = (float)Patience.TotalMilliseconds });
    }

    public Task WaitForStateAsync(string state) => WaitAsync($"() => window.attachBadge && attachBadge.state() === '{state}'");

    public Task WaitAsync(string predicate) =>
        page.WaitForFunctionAsync(predicate, null, new PageWaitForFunctionOptions { Timeout = (float)Patience.TotalMilliseconds, PollingInterval = 100 });
}
