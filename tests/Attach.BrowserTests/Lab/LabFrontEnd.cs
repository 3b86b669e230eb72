using System.Text.Json;
using System.Text.RegularExpressions;
using Attach.BrowserTests.Support;
using Attach.Testing;
using Attach.Testing.Processes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Attach.BrowserTests.Lab;

/// <summary>
/// The JupyterLab 4 front end of notebook-extension/lab-app behind the gateway, with the Attach labextension
/// installed the way users install a prebuilt extension: its folder copied into share/jupyter/labextensions.
/// </summary>
internal sealed class LabFrontEnd : IAsyncDisposable
{
    public static readonly string LabApp = Path.Combine(RepositoryPaths.Root, "notebook-extension", "lab-app", "attach_lab.py");
    public static readonly string LabExtension = Path.Combine(RepositoryPaths.Root, "notebook-extension", "labextension");

    private readonly string _dataDir;

    private LabFrontEnd(EmbeddedDeployment deployment, Chromium chromium, string dataDir)
    {
        Deployment = deployment;
        Chromium = chromium;
        _dataDir = dataDir;
    }

    public EmbeddedDeployment Deployment { get; }

    public Chromium Chromium { get; }

    /// <param name="idleTimeout">The broker's idle timeout.</param>
    /// <param name="users">Multi-user mode when given: each user gets their own JupyterLab under /user/{name}/.</param>
    /// <param name="admins">Multi-user mode: the users the users file marks admin.</param>
    public static async Task<LabFrontEnd> StartAsync(TimeSpan idleTimeout, IReadOnlyList<string>? users = null, IReadOnlyList<string>? admins = null)
    {
        // Kernels start and cells attach on a shared 2-core CI machine: wait for what the user would wait for.
        SetDefaultExpectTimeout(60_000);
        foreach (var built in new[] { Path.Combine(Path.GetDirectoryName(LabApp)!, "build", "bundle.js"), Path.Combine(LabExtension, "package.json") })
        {
            if (!File.Exists(built))
            {
                throw new InvalidOperationException($"{built} is missing: build the JupyterLab front end and the extension with `make lab` (make test does).");
            }
        }

        var dataDir = Directory.CreateTempSubdirectory("attach-jupyter-data-").FullName;
        CopyDirectory(LabExtension, Path.Combine(dataDir, "labextensions", "attach-jupyterlab"));
        var deployment = new EmbeddedDeployment
        {
            JupyterLabApp = LabApp,
            JupyterDataPath = dataDir,
            IdleTimeout = idleTimeout,
            UserNames = users ?? [],
            AdminNames = admins ?? [],
        };
        try
        {
            await deployment.StartAsync();
            return new LabFrontEnd(deployment, await Chromium.LaunchAsync(), dataDir);
        }
        catch
        {
            await deployment.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes an empty Python notebook into the server's folder (<paramref name="user"/>'s, in multi-user mode).</summary>
    public void CreateNotebook(string name, string? user = null)
    {
        var notebook = new
        {
            cells = Array.Empty<object>(),
            metadata = new { kernelspec = new { name = "python3", display_name = "Python 3 (ipykernel)", language = "python" } },
            nbformat = 4,
            nbformat_minor = 5,
        };
        var directory = user is null ? Deployment.NotebookDirectory : Deployment.Users[user].NotebookDirectory;
        File.WriteAllText(Path.Combine(directory, name), JsonSerializer.Serialize(notebook));
    }

    /// <summary>
    /// A browser page logged in through the token URL, with JupyterLab open on <paramref name="notebook"/>: the
    /// deployment's one user's, or in multi-user mode <paramref name="user"/>'s own JupyterLab, signed in as them.
    /// </summary>
    public async Task<IPage> OpenNotebookAsync(IBrowserContext context, string notebook, string? user = null)
    {
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000);

        // On a loaded machine JupyterLab may ask which kernel to use at any moment (seen in CI after a cell had run
        // and attached), and its modal then swallows the next click. Answer it whenever it shows, as a user would:
        // Select keeps the notebook's own kernel.
        await page.AddLocatorHandlerAsync(
            page.Locator(".jp-Dialog").Filter(new() { HasText = "Select Kernel" }),
            async dialog => await dialog.Locator("button.jp-mod-accept").ClickAsync());
        var path = user is null
            ? $"lab/tree/{notebook}?token={Deployment.GatewayToken}"
            : $"user/{user}/lab/tree/{notebook}?token={Deployment.Users[user].Token}";
        await page.GotoAsync(new Uri(Deployment.GatewayUrl, path).ToString());
        await WaitForKernelAsync(page);
        return page;
    }

    /// <summary>Waits until the current notebook's kernel is idle (JupyterLab's own kernel status).</summary>
    public static async Task WaitForKernelAsync(IPage page)
    {
        await Expect(page.Locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")).ToBeVisibleAsync(new() { Timeout = 90_000 });
        await Expect(page.Locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']"))
            .ToHaveCountAsync(1, new() { Timeout = 90_000 });
    }

    /// <summary>The Attach status bar item.</summary>
    public static ILocator StatusItem(IPage page) => page.Locator(".attach-status-item");

    /// <summary>
    /// Types <paramref name="code"/> into the active notebook's last cell and runs it with the toolbar's Run
    /// button (JupyterLab's notebook:run-cell-and-select-next), which also opens the next empty cell.
    /// </summary>
    public static async Task RunInNewCellAsync(IPage page, string code)
    {
        var panel = page.Locator(".jp-NotebookPanel:not(.lm-mod-hidden)");
        var cells = panel.Locator(".jp-Notebook .jp-Cell");
        await Expect(cells.Last).ToBeVisibleAsync();
        var index = await cells.CountAsync() - 1;
        var cell = cells.Nth(index);

        // Keystrokes that miss the editor are JupyterLab command-mode shortcuts: make sure it has the focus.
        await cell.Locator(".cm-content").ClickAsync();
        await Expect(cell.Locator(".cm-editor.cm-focused")).ToHaveCountAsync(1);
        await page.Keyboard.TypeAsync(code);
        await Expect(cell.Locator(".cm-content")).ToContainTextAsync(code.Split('\n')[0]);
        var run = panel.Locator(".jp-Toolbar [data-command='notebook:run-cell-and-select-next']");
        await run.ClickAsync();

        // Sent: the prompt says [*] while it runs, then its execution count. On a loaded machine JupyterLab may
        // not yet count the started kernel as the notebook's and ask which kernel to use; answer as a user would.
        // A cell the gateway refuses (no GPU could be attached) gets no execution count: its prompt goes back to
        // [ ]: at once, but it has the refusal as its output.
        var sent = cell.Locator(".jp-InputPrompt").Filter(new() { HasNotTextRegex = Pattern(@"^\[ \]:$") })
            .Or(cell.Locator(".jp-OutputArea-output"));
        var selectKernel = page.Locator(".jp-Dialog").Filter(new() { HasText = "Select Kernel" });
        try
        {
            await Expect(sent.Or(selectKernel).First).ToBeAttachedAsync(new() { Timeout = 20_000 });
        }
        catch (PlaywrightException)
        {
            // Seen under load: JupyterLab took the click before the notebook's kernel connection was ready, moved
            // to the next cell and ran nothing (the prompt stays [ ]:, nothing reaches the kernel channel). JupyterLab
            // marks a cell [*] the moment it sends it, so nothing was sent: press Run on that cell again, as a user would.
            await cell.Locator(".jp-InputPrompt").ClickAsync();
            await run.ClickAsync();
            await Expect(sent.Or(selectKernel).First).ToBeAttachedAsync();
        }

        if (await selectKernel.CountAsync() > 0)
        {
            await selectKernel.Locator("button.jp-mod-accept").ClickAsync();
            await Expect(selectKernel).ToHaveCountAsync(0);
            await WaitForKernelAsync(page);
            await cell.Locator(".jp-InputPrompt").ClickAsync();
            await panel.Locator(".jp-Toolbar [data-command='notebook:run-cell']").Or(run).First.ClickAsync();
        }

        await Expect(sent.First).ToBeAttachedAsync();
    }

    /// <summary>The text of the active notebook's cell outputs so far.</summary>
    public static ILocator Outputs(IPage page) => page.Locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output");

    /// <summary>Starts recording every label the status item shows (a transient state may last one frame).</summary>
    public static Task RecordStatusLabelsAsync(IPage page) => page.EvaluateAsync(
        """
        () => {
          window.__attachLabels = [];
          const item = document.querySelector('.attach-status-item');
          window.__attachLabels.push(item.textContent);
          new MutationObserver(() => window.__attachLabels.push(item.textContent))
            .observe(item, { childList: true, characterData: true, subtree: true });
        }
        """);

    public static async Task<IReadOnlyList<string>> RecordedStatusLabelsAsync(IPage page) =>
        await page.EvaluateAsync<string[]>("() => window.__attachLabels");

    public static Regex Pattern(string pattern) => new(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));

    public async ValueTask DisposeAsync()
    {
        // The last state of every page, for a failed test's report.
        var n = 0;
        foreach (var page in Chromium.Browser.Contexts.SelectMany(c => c.Pages))
        {
            await Chromium.ScreenshotAsync(page, $"lab-last-{++n}");
        }

        await Chromium.DisposeAsync();
        await File.WriteAllTextAsync(Path.Combine(Chromium.ScreenshotDirectory, "lab-last.log"), Deployment.AllOutput());
        await Deployment.DisposeAsync();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS.
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal), overwrite: true);
        }
    }
}
