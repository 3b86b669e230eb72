using Attach.BrowserTests.Dashboard;
using Attach.BrowserTests.Support;
using Microsoft.Playwright;
using static Attach.BrowserTests.Lab.LabFrontEnd;
using static Microsoft.Playwright.Assertions;

namespace Attach.BrowserTests.Lab;

/// <summary>
/// The states a user waits in or is refused with, in the real JupyterLab: a pool of one simulated GPU that one
/// notebook holds whole, a second notebook that queues for it, and a cell asking for more than any GPU has.
/// </summary>
public sealed class QueueAndFailureTests
{
    [Fact]
    public async Task A_cell_queues_while_the_only_gpu_is_held_attaches_when_it_is_released_and_an_impossible_request_fails_with_the_reason()
    {
        // One simulated 80 GiB GPU (the agent reads Agent:Simulated:GpuCount from the environment it inherits).
        using var environment = new ScopedEnvironment(("Agent__Simulated__GpuCount", "1"));
        await using var lab = await LabFrontEnd.StartAsync(idleTimeout: TimeSpan.FromMinutes(5));
        lab.CreateNotebook("holder.ipynb");
        lab.CreateNotebook("waiter.ipynb");
        var holder = await lab.OpenNotebookAsync(await lab.Chromium.NewContextAsync(), "holder.ipynb");
        var waiter = await lab.OpenNotebookAsync(await lab.Chromium.NewContextAsync(), "waiter.ipynb");

        // The first notebook takes the whole GPU.
        await RunInNewCellAsync(holder, "# attach: mem=80G\ndevice = \"cuda\"");
        await Expect(StatusItem(holder)).ToHaveTextAsync(Pattern(@"^GPU: A100 80GB \(simulated\), 80 GiB"));

        // The second waits: first in the queue, said in the status item and in the cell while it is held.
        await RunInNewCellAsync(waiter, "device = \"cuda\"\nprint(\"ran after the wait\")");
        await Expect(StatusItem(waiter)).ToHaveTextAsync(Pattern(@"^GPU: queued #1\b"));
        await Expect(Outputs(waiter).Filter(new() { HasText = "attach: waiting for a GPU: position 1" })).ToHaveCountAsync(1);
        await Expect(Outputs(waiter).Filter(new() { HasText = "ran after the wait" })).ToHaveCountAsync(0);
        await Chromium.ScreenshotAsync(waiter, "lab-queued");
        await StatusItem(waiter).ClickAsync();
        await Expect(waiter.Locator(".attach-panel")).ToContainTextAsync("Waiting for a GPU: position 1 in the queue");
        await Chromium.ScreenshotAsync(waiter, "lab-queued-panel");
        await StatusItem(waiter).ClickAsync();

        // The holder gives the GPU back; the waiter's cell attaches and runs.
        await StatusItem(holder).ClickAsync();
        await holder.Locator(".attach-panel").GetByRole(AriaRole.Button, new() { Name = "Release now" }).ClickAsync();
        await Expect(StatusItem(holder)).ToHaveTextAsync("GPU: detached");
        await StatusItem(holder).ClickAsync();
        await Expect(StatusItem(waiter)).ToHaveTextAsync(Pattern(@"^GPU: A100 80GB \(simulated\), 20 GiB"));
        await Expect(Outputs(waiter).Filter(new() { HasText = "attach: GPU 0" })).ToHaveCountAsync(1);
        await Expect(Outputs(waiter).Filter(new() { HasText = "ran after the wait" })).ToHaveCountAsync(1);
        await Chromium.ScreenshotAsync(waiter, "lab-attached-after-queue");

        // More than any GPU has: refused, with the broker's reason in the status item, its panel and the cell.
        const string Reason = "no GPU in the pool is large enough";
        await RunInNewCellAsync(holder, "# attach: mem=200G\ndevice = \"cuda\"\nprint(\"should not run\")");
        await Expect(StatusItem(holder)).ToHaveTextAsync(Pattern($"^GPU: failed — {Reason}"));
        var cellAnswer = holder.Locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea").Filter(new() { HasText = "No GPU could be attached: " + Reason });
        await Expect(cellAnswer).ToHaveCountAsync(1);
        await Expect(Outputs(holder).Filter(new() { HasText = "should not run" })).ToHaveCountAsync(0);
        await Expect(holder.Locator(".Toastify__toast").Filter(new() { HasText = "GPU attach failed: " + Reason }).First).ToBeVisibleAsync();
        await StatusItem(holder).ClickAsync();
        await Expect(holder.Locator(".attach-panel")).ToContainTextAsync(Reason);
        await Chromium.ScreenshotAsync(holder, "lab-failed");
    }
}
