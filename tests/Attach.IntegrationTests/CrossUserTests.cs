using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Attach.Contracts.Kernels;
using Attach.Testing;
using Attach.Testing.Jupyter;
using Xunit.Abstractions;

namespace Attach.IntegrationTests;

/// <summary>Two users, each with their own Debian Jupyter Server behind one gateway (a users file), plus the broker and a simulated pool.</summary>
public sealed class TwoUserDeploymentFixture : IAsyncLifetime
{
    public EmbeddedDeployment Deployment { get; } = new() { UserNames = ["ada", "bob"] };

    public Task InitializeAsync() => Deployment.StartAsync();

    public Task DisposeAsync() => Deployment.DisposeAsync().AsTask();
}

[CollectionDefinition(Name)]
public sealed class TwoUserDeploymentCollection : ICollectionFixture<TwoUserDeploymentFixture>
{
    public const string Name = "two-user deployment";
}

/// <summary>
/// The cross-user matrix through real processes: ada tries every way to reach bob's server, kernels,
/// hub events and broker state. Every attempt is refused, and none leaves anything behind: no kernel
/// started on bob's server, no attach, no lease, bob's kernel untouched.
/// </summary>
[Collection(TwoUserDeploymentCollection.Name)]
public sealed class CrossUserTests(TwoUserDeploymentFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan CellTimeout = TimeSpan.FromSeconds(60);
    private readonly EmbeddedDeployment _deployment = fixture.Deployment;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        output.WriteLine(_deployment.AllOutput());
        return Task.CompletedTask;
    }

    private Uri ServerOf(string user) => new(_deployment.GatewayUrl, $"user/{user}/");

    /// <summary>Bob's kernel, known to the broker as bob's (a CPU cell has run on it).</summary>
    private async Task<string> BobsKernelAsync()
    {
        var kernelId = await _deployment.StartKernelAsync("bob");
        await using var kernel = await KernelChannelClient.ConnectAsync(ServerOf("bob"), kernelId, _deployment.Users["bob"].Token, KernelChannelClient.V1, CancellationToken.None);
        await kernel.CollectUntilDoneAsync(await kernel.SendExecuteRequestAsync("x = 1", CancellationToken.None), CellTimeout);

        // A cell with no GPU evidence goes on without waiting for the broker, which learns of it (and so of the
        // kernel) from the gateway's next batch of reports, a moment later.
        using var bob = _deployment.GatewayClientFor("bob");
        var deadline = TimeProvider.System.GetTimestamp() + (10 * System.Diagnostics.Stopwatch.Frequency);
        while (true)
        {
            using var known = await bob.GetAsync($"attach/api/v1/kernels/{kernelId}");
            if (known.IsSuccessStatusCode)
            {
                return kernelId;
            }

            Assert.True(TimeProvider.System.GetTimestamp() < deadline, $"the broker did not learn of bob's kernel within 10 s ({known.StatusCode})");
            await Task.Delay(50);
        }
    }

    private async Task<IReadOnlyList<string>> LeasedKernelsAsync()
    {
        var pool = JsonDocument.Parse(await _deployment.BrokerPoolAsync()).RootElement;
        return [.. pool.GetProperty("nodes").EnumerateArray()
            .SelectMany(n => n.GetProperty("gpus").EnumerateArray())
            .SelectMany(g => g.GetProperty("leases").EnumerateArray())
            .Select(l => l.GetProperty("kernelId").GetString()!)];
    }

    [Fact]
    public async Task EachUser_ReachesTheirOwnJupyter_UnderTheirPrefix()
    {
        using var ada = _deployment.GatewayClientFor("ada");

        var kernelId = await _deployment.StartKernelAsync("ada");

        Assert.Contains(kernelId, await _deployment.JupyterKernelIdsAsync("ada"));
        Assert.DoesNotContain(kernelId, await _deployment.JupyterKernelIdsAsync("bob"));
        using var tree = await ada.GetAsync("user/ada/api/contents");
        Assert.Equal(HttpStatusCode.OK, tree.StatusCode);
    }

    public static TheoryData<string, string> BobsHttpRoutes => new()
    {
        { "GET", "user/bob/api/kernels" },
        { "POST", "user/bob/api/kernels" },
        { "GET", "user/bob/api/contents" },
        { "POST", "user/bob/api/sessions" },
        { "GET", "user/bob/tree" },
        { "GET", "user/bob/lab" },
        { "GET", "user/bob/" },
    };

    [Theory]
    [MemberData(nameof(BobsHttpRoutes))]
    public async Task AdasToken_OnBobsPages_Is403_AndBobsServerStartsNothing(string method, string path)
    {
        var before = await _deployment.JupyterKernelIdsAsync("bob");
        using var ada = _deployment.GatewayClientFor("ada");
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new StringContent("""{"name":"python3","kernel":{"name":"python3"},"path":"x.ipynb","type":"notebook"}""", Encoding.UTF8, "application/json");
        }

        using var response = await ada.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before.Order(), (await _deployment.JupyterKernelIdsAsync("bob")).Order());
    }

    [Fact]
    public async Task AdasKernelChannel_ToBobsKernel_IsRefused_UnderEitherPrefix()
    {
        var kernelId = await BobsKernelAsync();
        var ada = _deployment.Users["ada"].Token;

        var underBobs = await Assert.ThrowsAsync<WebSocketConnectFailedException>(
            () => KernelChannelClient.ConnectAsync(ServerOf("bob"), kernelId, ada, KernelChannelClient.V1, CancellationToken.None));
        var underAdas = await Assert.ThrowsAsync<WebSocketConnectFailedException>(
            () => KernelChannelClient.ConnectAsync(ServerOf("ada"), kernelId, ada, null, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, underBobs.StatusCode);
        // Ada's own server has no such kernel.
        Assert.Equal(HttpStatusCode.NotFound, underAdas.StatusCode);
        Assert.DoesNotContain(kernelId, await _deployment.JupyterKernelIdsAsync("ada"));
    }

    [Fact]
    public async Task AdasHubSubscription_ToBobsKernel_SeesNothingOfIt()
    {
        var kernelId = await BobsKernelAsync();
        await using var adaHub = await HubClient.ConnectAsync(_deployment.GatewayUrl, _deployment.Users["ada"].Token, CancellationToken.None);
        await using var bobHub = await HubClient.ConnectAsync(_deployment.GatewayUrl, _deployment.Users["bob"].Token, CancellationToken.None);

        var seenByAda = await adaHub.SubscribeAsync(kernelId, CancellationToken.None);
        await bobHub.SubscribeAsync(kernelId, CancellationToken.None);
        await using (var kernel = await KernelChannelClient.ConnectAsync(ServerOf("bob"), kernelId, _deployment.Users["bob"].Token, KernelChannelClient.V1, CancellationToken.None))
        {
            var messages = await kernel.CollectUntilDoneAsync(await kernel.SendExecuteRequestAsync("device = \"cuda\"\nprint('bob ran')", CancellationToken.None), CellTimeout);
            Assert.Contains(messages, m => m.Printed("bob ran"));
        }

        // Bob sees his kernel attach; ada was told nothing about it, then or since.
        await bobHub.WaitForStateAsync(KernelState.Attached, CellTimeout);
        Assert.Equal(KernelState.Detached, seenByAda.State);
        Assert.Equal("ada", seenByAda.Owner);
        Assert.Null(seenByAda.Attachment);
        await Assert.ThrowsAsync<TimeoutException>(() => adaHub.WaitForStateAsync(KernelState.Attached, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task AdasBrokerCalls_OnBobsKernel_AreRefused_AndLeaveNoAttachOrLease()
    {
        var kernelId = await BobsKernelAsync();
        using var ada = _deployment.GatewayClientFor("ada");
        using var bob = _deployment.GatewayClientFor("bob");

        using var status = await ada.GetAsync($"attach/api/v1/kernels/{kernelId}");
        using var execute = await ada.PostAsJsonAsync($"attach/api/v1/kernels/{kernelId}/executions", new { msgId = Guid.NewGuid().ToString("N"), code = "device = 'cuda'" });
        using var release = await ada.PostAsync($"attach/api/v1/kernels/{kernelId}/release", null);
        using var forget = await ada.DeleteAsync($"attach/api/v1/kernels/{kernelId}");
        var adasList = await ada.GetFromJsonAsync<JsonElement>("attach/api/v1/kernels");

        Assert.All(new[] { status, execute, release, forget }, r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        Assert.DoesNotContain(kernelId, adasList.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(kernelId, await LeasedKernelsAsync());
        var bobs = await bob.GetFromJsonAsync<KernelStatus>($"attach/api/v1/kernels/{kernelId}");
        Assert.Equal("bob", bobs!.Owner);
        Assert.Equal(KernelState.Detached, bobs!.State);
    }

    [Fact]
    public async Task Ada_CannotClaimBobsNewKernel_BeforeBobsFirstCell()
    {
        // A kernel the broker has not seen yet would be registered to whoever names it first.
        var kernelId = await _deployment.StartKernelAsync("bob");
        using var ada = _deployment.GatewayClientFor("ada");

        using var claim = await ada.PostAsJsonAsync($"attach/api/v1/kernels/{kernelId}/executions", new { msgId = Guid.NewGuid().ToString("N"), code = "device = 'cuda'" });

        Assert.Equal(HttpStatusCode.NotFound, claim.StatusCode);
        Assert.DoesNotContain(kernelId, await LeasedKernelsAsync());
        await using var kernel = await KernelChannelClient.ConnectAsync(ServerOf("bob"), kernelId, _deployment.Users["bob"].Token, KernelChannelClient.V1, CancellationToken.None);
        var messages = await kernel.CollectUntilDoneAsync(await kernel.SendExecuteRequestAsync("device = \"cuda\"\nprint('mine')", CancellationToken.None), CellTimeout);
        Assert.Contains(messages, m => m.Text?.StartsWith("attach: GPU ", StringComparison.Ordinal) == true);
        using var bob = _deployment.GatewayClientFor("bob");
        Assert.Equal("bob", (await bob.GetFromJsonAsync<KernelStatus>($"attach/api/v1/kernels/{kernelId}"))!.Owner);
    }

    [Fact]
    public async Task BobsOwnKernel_RunsAGpuCellThroughHisPrefix()
    {
        var kernelId = await _deployment.StartKernelAsync("bob");
        await using var kernel = await KernelChannelClient.ConnectAsync(ServerOf("bob"), kernelId, _deployment.Users["bob"].Token, null, CancellationToken.None);

        var messages = await kernel.CollectUntilDoneAsync(await kernel.SendExecuteRequestAsync("device = \"cuda\"\nprint('bob on gpu')", CancellationToken.None), CellTimeout);

        Assert.Contains(messages, m => m.Text?.StartsWith("attach: GPU ", StringComparison.Ordinal) == true);
        Assert.Contains(messages, m => m.Printed("bob on gpu"));
    }

    [Fact]
    public async Task NoUsersTokenOrJupyterToken_AppearsInAnyLog()
    {
        using var anonymous = new HttpClient { BaseAddress = _deployment.GatewayUrl };
        (await anonymous.GetAsync($"user/ada/api/status?token={_deployment.Users["ada"].Token}")).Dispose();
        (await anonymous.GetAsync($"user/bob/api/status?token={_deployment.Users["ada"].Token}")).Dispose();

        var logs = _deployment.AllOutput();
        foreach (var secret in _deployment.Secrets)
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }
}
