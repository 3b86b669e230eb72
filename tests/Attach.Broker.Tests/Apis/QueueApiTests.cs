using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Microsoft.AspNetCore.Mvc;

namespace Attach.Broker.Tests.Apis;

/// <summary>
/// The queue end to end through HTTP: the real lease table and scheduler, one simulated 80 GiB GPU registered by
/// heartbeat, an agent that accepts every bind.
/// </summary>
public sealed class QueueApiTests : IAsyncLifetime
{
    private const string WholeGpuCell = "# attach: mem=80G\nmodel = Net().cuda()";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly BrokerApp _app = new()
    {
        RealScheduler = true,
        Settings = [("Broker:Scheduling:Admins:0", "root-admin")],
    };

    public async Task InitializeAsync()
    {
        using var service = _app.CreateClient(user: null);
        var heartbeat = new NodeHeartbeat(
            "node-a",
            new Uri("http://node-a:7070/"),
            new GpuBackendInfo("simulated", true, "no NVIDIA device found"),
            [new GpuInfo(0, "SIM-00", "A100 80GB", 80 * 1024, Simulated: true)],
            []);
        using var response = await service.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", heartbeat);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task StreamedExecution_WhileTheGpuIsTaken_ReportsThePlaceThenAttachingThenTheDecision()
    {
        using var alice = _app.CreateClient("alice");
        using var bob = _app.CreateClient("bob");
        var held = await ExecuteAsync(alice, "kernel-a", WholeGpuCell);
        Assert.NotNull(held.Attachment);

        using var response = await StreamAsync(bob, "kernel-b", WholeGpuCell);
        using var lines = new StreamReader(await response.Content.ReadAsStreamAsync());
        var queued = await NextAsync(lines);
        var status = await GetStatusAsync(bob, "kernel-b");
        using (var release = await alice.PostAsJsonAsync("/api/v1/kernels/kernel-a/release", new RuntimeReleaseRequest(null, 1, "done")))
        {
            release.EnsureSuccessStatusCode();
        }

        var attaching = await NextAsync(lines);
        var decision = await NextAsync(lines);

        Assert.Equal(AttachMediaTypes.NdJson, response.Content.Headers.ContentType!.MediaType);
        Assert.Equal((ExecutionPhase.Queued, 1, 1), (queued.Progress!.Phase, queued.Progress.QueuePosition, queued.Progress.QueueLength));
        Assert.StartsWith("waiting for a GPU: position 1 of 1", queued.Progress.Message, StringComparison.Ordinal);
        Assert.Null(queued.Decision);
        Assert.Equal((KernelState.Queued, 1), (status.State, status.QueuePosition));
        Assert.Equal(ExecutionPhase.Attaching, attaching.Progress!.Phase);
        Assert.Null(decision.Progress);
        Assert.Equal(80 * 1024, decision.Decision!.Attachment!.SliceMemoryMiB);
        Assert.True(decision.Decision.NewlyAttached);
        Assert.Null(await lines.ReadLineAsync());
    }

    [Fact]
    public async Task StreamedExecution_WithRoom_SaysAttachingThenDecides()
    {
        using var alice = _app.CreateClient("alice");

        using var response = await StreamAsync(alice, "kernel-a", "x = torch.zeros(3).cuda()");
        using var lines = new StreamReader(await response.Content.ReadAsStreamAsync());
        var attaching = await NextAsync(lines);
        var decision = await NextAsync(lines);

        Assert.Equal(ExecutionPhase.Attaching, attaching.Progress!.Phase);
        Assert.Equal(20 * 1024, decision.Decision!.Attachment!.SliceMemoryMiB);
    }

    [Fact]
    public async Task StreamedExecution_CpuCell_IsOnePlainJsonDecision_NotAStream()
    {
        using var alice = _app.CreateClient("alice");

        using var response = await StreamAsync(alice, "kernel-a", "print(1)");

        // Nothing to wait for: the decision comes whole, as the client's second choice of media type.
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var decision = JsonSerializer.Deserialize<ExecutionDecision>(await response.Content.ReadAsStringAsync(), Json)!;
        Assert.False(decision.NeedsGpu);
    }

    [Fact]
    public async Task StreamedExecution_ClientGoesAwayWhileQueued_TheKernelLeavesTheQueue()
    {
        using var alice = _app.CreateClient("alice");
        using var bob = _app.CreateClient("bob");
        await ExecuteAsync(alice, "kernel-a", WholeGpuCell);
        using var cancel = new CancellationTokenSource();
        var response = await StreamAsync(bob, "kernel-b", WholeGpuCell, cancel.Token);
        var lines = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        Assert.Equal(ExecutionPhase.Queued, (await NextAsync(lines)).Progress!.Phase);

        await cancel.CancelAsync();
        lines.Dispose();
        response.Dispose();

        await WaitUntilAsync(async () => (await GetStatusAsync(bob, "kernel-b")).State == KernelState.Detached);
        Assert.Contains("interrupted", (await GetStatusAsync(bob, "kernel-b")).Reason, StringComparison.Ordinal);
        Assert.Equal(0, (await GetQueueAsync(bob)).GetProperty("length").GetInt32());
    }

    [Fact]
    public async Task Queue_UsersSeeTheirOwnWaitersAndAdminsSeeAll()
    {
        using var alice = _app.CreateClient("alice");
        using var bob = _app.CreateClient("bob");
        using var admin = _app.CreateClient("root-admin");
        await ExecuteAsync(alice, "kernel-a", WholeGpuCell);
        using var waiting = await StreamAsync(bob, "kernel-b", WholeGpuCell);
        using var lines = new StreamReader(await waiting.Content.ReadAsStreamAsync());
        await NextAsync(lines);

        var asBob = await GetQueueAsync(bob);
        var asAlice = await GetQueueAsync(alice);
        var asAdmin = await GetQueueAsync(admin);

        var bobs = Assert.Single(asBob.GetProperty("waiters").EnumerateArray());
        Assert.Equal(("kernel-b", 1), (bobs.GetProperty("kernelId").GetString(), bobs.GetProperty("position").GetInt32()));
        Assert.Equal(1, asAlice.GetProperty("length").GetInt32());
        Assert.Empty(asAlice.GetProperty("waiters").EnumerateArray());
        Assert.Single(asAdmin.GetProperty("waiters").EnumerateArray());
    }

    [Fact]
    public async Task DeleteQueueEntry_OwnWaiterIsCancelled_AnotherUsersIsNotFound()
    {
        using var alice = _app.CreateClient("alice");
        using var bob = _app.CreateClient("bob");
        await ExecuteAsync(alice, "kernel-a", WholeGpuCell);
        using var waiting = await StreamAsync(bob, "kernel-b", WholeGpuCell);
        using var lines = new StreamReader(await waiting.Content.ReadAsStreamAsync());
        await NextAsync(lines);

        using var byAlice = await alice.DeleteAsync("/api/v1/queue/kernel-b");
        using var byBob = await bob.DeleteAsync("/api/v1/queue/kernel-b");
        var decision = await NextAsync(lines);
        using var again = await bob.DeleteAsync("/api/v1/queue/kernel-b");

        Assert.Equal(HttpStatusCode.NotFound, byAlice.StatusCode);
        Assert.Equal("application/problem+json", byAlice.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.NoContent, byBob.StatusCode);
        Assert.Null(decision.Decision!.Attachment);
        Assert.Contains("cancelled by bob", decision.Decision.Error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("not waiting in the queue", (await again.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlicePreference_HalfProfile_AppliesToTheNextAttach()
    {
        using var alice = _app.CreateClient("alice");

        using var set = await alice.PutAsJsonAsync("/api/v1/kernels/kernel-a/slice-preference", new SlicePreference("half", null));
        var decision = await ExecuteAsync(alice, "kernel-a", "x.cuda()");

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(40 * 1024, decision.Attachment!.SliceMemoryMiB);
    }

    [Fact]
    public async Task SlicePreference_Bad_IsAProblemAndAnotherUsersKernelIsNotFound()
    {
        using var alice = _app.CreateClient("alice");
        using var bob = _app.CreateClient("bob");
        await ExecuteAsync(alice, "kernel-a", "print(1)");

        using var unknown = await alice.PutAsJsonAsync("/api/v1/kernels/kernel-a/slice-preference", new SlicePreference("eighth", null));
        using var both = await alice.PutAsJsonAsync("/api/v1/kernels/kernel-a/slice-preference", new SlicePreference("half", 1024));
        using var notBobs = await bob.PutAsJsonAsync("/api/v1/kernels/kernel-a/slice-preference", new SlicePreference(null, 20480));

        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("full, half, quarter", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, both.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, notBobs.StatusCode);
        Assert.Equal("application/problem+json", notBobs.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Execute_UnreadableAttachLine_AnswersWithTheFixInsteadOfAttaching()
    {
        using var alice = _app.CreateClient("alice");

        var decision = await ExecuteAsync(alice, "kernel-a", "# attach: mem=lots\nx.cuda()");

        Assert.Null(decision.Attachment);
        Assert.Contains("mem=20G", decision.Error, StringComparison.Ordinal);
        Assert.Equal(KernelState.Detached, (await GetStatusAsync(alice, "kernel-a")).State);
    }

    [Fact]
    public async Task RuntimeAttach_PoolFull_IsQueuedUntilASliceFrees_ThenGranted()
    {
        using var alice = _app.CreateClient("alice");
        using var service = _app.CreateClient(user: null);
        await ExecuteAsync(alice, "kernel-a", WholeGpuCell);
        var ask = new RuntimeAttachRequest("node-a", 4242, 1000, 1000, 40 * 1024, Wait: true);

        var first = await RuntimeAttachAsync(service, ask);
        var second = await RuntimeAttachAsync(service, ask);
        (await alice.PostAsJsonAsync("/api/v1/kernels/kernel-a/release", new RuntimeReleaseRequest(null, 1, "done"))).Dispose();
        RuntimeAttachDecision granted;
        do
        {
            granted = await RuntimeAttachAsync(service, ask);
        }
        while (granted.Status == RuntimeAttachStatus.Queued);

        Assert.Equal((RuntimeAttachStatus.Queued, 1), (first.Status, first.QueuePosition));
        Assert.Equal((RuntimeAttachStatus.Queued, 1), (second.Status, second.QueuePosition));
        Assert.Equal(RuntimeAttachStatus.Granted, granted.Status);
        Assert.Equal(40 * 1024, granted.Attachment!.SliceMemoryMiB);
    }

    [Fact]
    public async Task RuntimeAttach_PoolFullAndNoWait_IsRefusedAndLeavesNoWaiter()
    {
        using var alice = _app.CreateClient("alice");
        using var service = _app.CreateClient(user: null);
        await ExecuteAsync(alice, "kernel-a", WholeGpuCell);

        var refused = await RuntimeAttachAsync(service, new RuntimeAttachRequest("node-a", 4242, 1000, 1000, 1024, Wait: false));

        Assert.Equal(RuntimeAttachStatus.Refused, refused.Status);
        Assert.Contains("asked not to wait", refused.Error, StringComparison.Ordinal);
        Assert.Equal(0, (await GetQueueAsync(service)).GetProperty("length").GetInt32());
    }

    [Fact]
    public async Task Usage_UsersSeeTheirOwnGpuSecondsAndTheServiceSeesEveryone()
    {
        using var alice = _app.CreateClient("alice");
        using var bob = _app.CreateClient("bob");
        using var service = _app.CreateClient(user: null);
        await ExecuteAsync(alice, "kernel-a", "x.cuda()");
        await Task.Delay(50);

        var asBob = await bob.GetFromJsonAsync<JsonElement>("/api/v1/usage");
        var asService = await service.GetFromJsonAsync<JsonElement>("/api/v1/usage");

        var bobRow = Assert.Single(asBob.GetProperty("users").EnumerateArray());
        Assert.Equal(("bob", 0.0), (bobRow.GetProperty("user").GetString(), bobRow.GetProperty("gpuSeconds").GetDouble()));
        var aliceRow = Assert.Single(asService.GetProperty("users").EnumerateArray());
        Assert.Equal("alice", aliceRow.GetProperty("user").GetString());
        Assert.True(aliceRow.GetProperty("gpuSeconds").GetDouble() > 0);
    }

    private static async Task<ExecutionDecision> ExecuteAsync(HttpClient client, string kernelId, string code)
    {
        using var response = await client.PostAsJsonAsync($"/api/v1/kernels/{kernelId}/executions", new ExecutionRequest($"msg-{Guid.NewGuid():N}", code));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ExecutionDecision>().WaitAsync(TestTimeouts.Event))!;
    }

    private static async Task<HttpResponseMessage> StreamAsync(HttpClient client, string kernelId, string code, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/kernels/{kernelId}/executions")
        {
            Content = JsonContent.Create(new ExecutionRequest($"msg-{Guid.NewGuid():N}", code)),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(AttachMediaTypes.NdJson));
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).WaitAsync(TestTimeouts.Event, cancellationToken);
        response.EnsureSuccessStatusCode();
        return response;
    }

    private static async Task<ExecutionUpdate> NextAsync(StreamReader lines)
    {
        var line = await lines.ReadLineAsync().WaitAsync(TestTimeouts.Event);
        Assert.NotNull(line);
        return JsonSerializer.Deserialize<ExecutionUpdate>(line, Json)!;
    }

    private static async Task<KernelStatus> GetStatusAsync(HttpClient client, string kernelId) =>
        (await client.GetFromJsonAsync<KernelStatus>($"/api/v1/kernels/{kernelId}"))!;

    private static async Task<JsonElement> GetQueueAsync(HttpClient client) =>
        await client.GetFromJsonAsync<JsonElement>("/api/v1/queue");

    private static async Task<RuntimeAttachDecision> RuntimeAttachAsync(HttpClient service, RuntimeAttachRequest ask)
    {
        using var response = await service.PostAsJsonAsync("/api/v1/kernels/session-1/runtime-attach", ask);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<RuntimeAttachDecision>())!;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Event);
        while (!await condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
