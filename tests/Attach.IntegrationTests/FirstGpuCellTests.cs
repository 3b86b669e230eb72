using System.Net.Http.Json;
using System.Text.Json;
using Attach.Contracts.Kernels;
using Attach.Testing;
using Attach.Testing.Jupyter;
using Xunit.Abstractions;

namespace Attach.IntegrationTests;

/// <summary>
/// The foundation's promise, end to end through real processes: a CPU cell runs untouched; a GPU cell is
/// held until a (simulated) slice is attached, then runs; after the idle timeout the slice is released
/// and the pool shows it free — over both kernel WebSocket protocols.
/// </summary>
[Collection(EmbeddedDeploymentCollection.Name)]
public sealed class FirstGpuCellTests(EmbeddedDeploymentFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan CellTimeout = TimeSpan.FromSeconds(60);
    private readonly EmbeddedDeployment _deployment = fixture.Deployment;
    private readonly HttpClient _gateway = fixture.Deployment.GatewayClient();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _gateway.Dispose();
        // The processes' output helps when a test failed; it is short enough to print every time.
        output.WriteLine(_deployment.AllOutput());
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(null)]
    [InlineData(KernelChannelClient.V1)]
    public async Task CpuCell_RunsAndAttachesNothing(string? subprotocol)
    {
        var kernelId = await _deployment.StartKernelAsync();
        await using var kernel = await KernelChannelClient.ConnectAsync(_deployment.GatewayUrl, kernelId, _deployment.GatewayToken, subprotocol, CancellationToken.None);

        var msgId = await kernel.SendExecuteRequestAsync("print(6*7)", CancellationToken.None);
        var messages = (await kernel.CollectUntilDoneAsync(msgId, CellTimeout)).ToList();

        Assert.Equal(subprotocol, kernel.SubProtocol);
        Assert.Contains(messages, m => m.Printed("42"));
        Assert.DoesNotContain(messages, m => m.Text?.StartsWith("attach:", StringComparison.Ordinal) == true);
        Assert.Equal("ok", messages.Single(m => m.MsgType == "execute_reply").Content.GetProperty("status").GetString());
        // A cell with no GPU evidence went on without waiting for the broker; the broker learns of it from the
        // gateway's next batch of reports, a moment later.
        var status = await KnownToTheBrokerAsync(kernelId);
        Assert.Equal(KernelState.Detached, status.State);
        Assert.Null(status.Attachment);
        Assert.DoesNotContain(await LeasedKernelsAsync(), id => id == kernelId);
    }

    private async Task<KernelStatus> KnownToTheBrokerAsync(string kernelId)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (10 * System.Diagnostics.Stopwatch.Frequency);
        while (true)
        {
            using var response = await _gateway.GetAsync($"attach/api/v1/kernels/{kernelId}");
            if (response.IsSuccessStatusCode || TimeProvider.System.GetTimestamp() > deadline)
            {
                response.EnsureSuccessStatusCode();
                return (await response.Content.ReadFromJsonAsync<KernelStatus>())!;
            }

            await Task.Delay(50);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData(KernelChannelClient.V1)]
    public async Task GpuCell_IsHeldUntilAttached_RunsOnTheSlice_AndIsReleasedWhenIdle(string? subprotocol)
    {
        var kernelId = await _deployment.StartKernelAsync();
        await using var hub = await HubClient.ConnectAsync(_deployment.GatewayUrl, _deployment.GatewayToken, CancellationToken.None);
        var initial = await hub.SubscribeAsync(kernelId, CancellationToken.None);
        Assert.Equal(KernelState.Detached, initial.State);
        await using var kernel = await KernelChannelClient.ConnectAsync(_deployment.GatewayUrl, kernelId, _deployment.GatewayToken, subprotocol, CancellationToken.None);
        Assert.Equal(subprotocol, kernel.SubProtocol);

        var msgId = await kernel.SendExecuteRequestAsync("device = \"cuda\"\nprint('ran with', device)", CancellationToken.None);
        var messages = (await kernel.CollectUntilDoneAsync(msgId, CellTimeout)).ToList();

        // Held: the gateway's attach line reaches the cell before the kernel has even said busy for it.
        var attachLine = messages.FindIndex(m => m.Text?.StartsWith("attach: GPU ", StringComparison.Ordinal) == true);
        var kernelBusy = messages.FindIndex(m => m.MsgType == "status" && m.Content.GetProperty("execution_state").GetString() == "busy");
        Assert.True(attachLine >= 0, "no attach line in: " + string.Join(", ", messages));
        Assert.True(attachLine < kernelBusy, "the cell reached the kernel before the attach: " + string.Join(", ", messages));
        Assert.Contains("(simulated)", messages[attachLine].Text, StringComparison.Ordinal);
        Assert.Contains("20 GiB slice", messages[attachLine].Text, StringComparison.Ordinal);
        Assert.Contains(messages, m => m.Printed("ran with cuda"));
        Assert.Equal("ok", messages.Single(m => m.MsgType == "execute_reply").Content.GetProperty("status").GetString());

        var attaching = await hub.WaitForStateAsync(KernelState.Attached, CellTimeout);
        Assert.Contains(attaching, e => e.To == KernelState.Attaching);
        var attached = attaching[^1].Status.Attachment!;
        Assert.True(attached.Simulated);
        Assert.EndsWith("(simulated)", attached.GpuName, StringComparison.Ordinal);
        Assert.Contains(kernelId, await LeasedKernelsAsync());

        // Idle (the kernel said idle after the cell) → released after the idle timeout → the pool has it back.
        var releasing = await hub.WaitForStateAsync(KernelState.Detached, _deployment.IdleTimeout + CellTimeout);
        Assert.Contains(releasing, e => e.To == KernelState.Releasing);
        Assert.DoesNotContain(kernelId, await LeasedKernelsAsync());
        var status = await _gateway.GetFromJsonAsync<KernelStatus>($"attach/api/v1/kernels/{kernelId}");
        Assert.Equal(KernelState.Detached, status!.State);
    }

    [Fact]
    public async Task SecondGpuCell_OnAnAttachedKernel_RunsWithoutASecondAttach()
    {
        var kernelId = await _deployment.StartKernelAsync();
        await using var kernel = await KernelChannelClient.ConnectAsync(_deployment.GatewayUrl, kernelId, _deployment.GatewayToken, KernelChannelClient.V1, CancellationToken.None);

        var first = await kernel.CollectUntilDoneAsync(await kernel.SendExecuteRequestAsync("device = \"cuda\"\nprint('first')", CancellationToken.None), CellTimeout);
        var second = await kernel.CollectUntilDoneAsync(await kernel.SendExecuteRequestAsync("device = \"cuda\"\nprint('again')", CancellationToken.None), CellTimeout);

        Assert.Single(first, m => m.Text?.StartsWith("attach:", StringComparison.Ordinal) == true);
        Assert.DoesNotContain(second, m => m.Text?.StartsWith("attach:", StringComparison.Ordinal) == true);
        Assert.Contains(second, m => m.Printed("again"));
        Assert.Single(await LeasedKernelsAsync(), id => id == kernelId);
    }

    /// <summary>The kernel ids holding a slice, from the pool view through the gateway.</summary>
    private async Task<IReadOnlyList<string>> LeasedKernelsAsync()
    {
        var pool = await _gateway.GetFromJsonAsync<JsonElement>("attach/api/v1/pool");
        return [.. pool.GetProperty("nodes").EnumerateArray()
            .SelectMany(n => n.GetProperty("gpus").EnumerateArray())
            .SelectMany(g => g.GetProperty("leases").EnumerateArray())
            .Select(l => l.GetProperty("kernelId").GetString()!)];
    }
}
