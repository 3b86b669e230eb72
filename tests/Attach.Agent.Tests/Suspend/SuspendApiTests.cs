using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Attach.Agent.Suspend;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Attach.Agent.Tests.Suspend;

public sealed class SuspendApiTests : IAsyncDisposable
{
    private const int Pid = 4242;
    private const long SliceMiB = 20480;
    private static readonly long SliceBytes = SliceMiB * 1024 * 1024;

    private readonly RearmSignalingTimeProvider _time = new();
    private readonly AgentFactory _factory;
    private readonly HttpClient _client;

    public SuspendApiTests()
    {
        _factory = new AgentFactory(configureServices: services => services.AddSingleton<TimeProvider>(_time));
        _client = _factory.CreateAuthorizedClient();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
    }

    // The default model: 0.2 s + bytes / 50 GB/s.
    private static TimeSpan Cost(long bytes) => SimulatedProcessSuspender.Cost(bytes, 50, TimeSpan.FromMilliseconds(200));

    private async Task BindAsync(string lease = "lease-1", int gpu = 0) =>
        (await _client.PostAsJsonAsync("/api/v1/bindings", new BindRequest(lease, 1, "kernel-1", gpu, SliceMiB, 100))).EnsureSuccessStatusCode();

    /// <summary>Sends the request, lets the simulated transfer of <paramref name="bytes"/> finish, returns the response.</summary>
    private async Task<HttpResponseMessage> PostThroughTransferAsync(string path, object? body, long bytes)
    {
        var response = body is null ? _client.PostAsync(path, content: null) : _client.PostAsJsonAsync(path, body);
        // Other services (the heartbeat) start timers too: wait for the transfer's.
        await _time.WaitForTimerAsync(Cost(bytes));

        _time.Advance(Cost(bytes));
        return await response.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task SuspendThenResume_SimulatedPool_ReportBytesSecondsStateAndSaySimulated()
    {
        await BindAsync();

        using var suspended = await PostThroughTransferAsync("/api/v1/bindings/lease-1/suspend", new SuspendRequest(Pid), SliceBytes);
        using var resumed = await PostThroughTransferAsync("/api/v1/bindings/lease-1/resume", body: null, SliceBytes);

        Assert.Equal(HttpStatusCode.OK, suspended.StatusCode);
        var suspend = await suspended.Content.ReadFromJsonAsync<SuspendResumeResult>();
        Assert.NotNull(suspend);
        Assert.Equal(SuspendOperation.Suspend, suspend.Operation);
        Assert.Equal(CudaProcessState.Checkpointed, suspend.State);
        Assert.Equal(SliceBytes, suspend.BytesMoved);
        Assert.Equal(Cost(SliceBytes).TotalSeconds, suspend.Seconds, precision: 6);
        Assert.True(suspend.Simulated);
        Assert.StartsWith("Simulated: Suspended process 4242: 20.0 GiB of device memory copied to host memory", suspend.Summary, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        var resume = await resumed.Content.ReadFromJsonAsync<SuspendResumeResult>();
        Assert.Equal(SuspendOperation.Resume, resume!.Operation);
        Assert.Equal(CudaProcessState.Running, resume.State);
        Assert.Equal(SliceBytes, resume.BytesMoved);
        Assert.Equal(0, resume.Gpu.Index);
        Assert.True(resume.Simulated);
    }

    [Fact]
    public async Task Suspend_ResultJson_IsCamelCaseWithStateNames()
    {
        await BindAsync();

        using var response = await PostThroughTransferAsync("/api/v1/bindings/lease-1/suspend", new SuspendRequest(Pid), SliceBytes);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var root = document.RootElement;
        Assert.Equal("Checkpointed", root.GetProperty("state").GetString());
        Assert.Equal("Suspend", root.GetProperty("operation").GetString());
        Assert.Equal(SliceBytes, root.GetProperty("bytesMoved").GetInt64());
        Assert.True(root.GetProperty("simulated").GetBoolean());
        Assert.True(root.GetProperty("seconds").GetDouble() > 0);
    }

    [Fact]
    public async Task Resume_OntoAnotherGpuOfTheSameModel_ReportsTheNewGpu()
    {
        await BindAsync();
        (await PostThroughTransferAsync("/api/v1/bindings/lease-1/suspend", new SuspendRequest(Pid), SliceBytes)).Dispose();

        using var response = await PostThroughTransferAsync("/api/v1/bindings/lease-1/resume", new ResumeRequest(TargetGpuIndex: 2), SliceBytes);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (await response.Content.ReadFromJsonAsync<SuspendResumeResult>())!.Gpu.Index);
    }

    [Theory]
    [InlineData("suspend")]
    [InlineData("resume")]
    public async Task UnknownLease_Returns404ProblemPointingAtTheBindings(string operation)
    {
        using var response = await _client.PostAsJsonAsync($"/api/v1/bindings/no-such-lease/{operation}", new { pid = Pid });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("GET /api/v1/bindings", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Suspend_NoProcessKnown_Returns409SayingReleaseTheLeaseInstead()
    {
        await BindAsync();

        using var response = await _client.PostAsync("/api/v1/bindings/lease-1/suspend", content: null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Contains("the kernel never touched CUDA, so there is nothing to suspend; release the lease instead", problem!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Suspend_AlreadySuspended_Returns409SayingResumeFirst()
    {
        await BindAsync();
        (await PostThroughTransferAsync("/api/v1/bindings/lease-1/suspend", new SuspendRequest(Pid), SliceBytes)).Dispose();

        using var response = await _client.PostAsync("/api/v1/bindings/lease-1/suspend", content: null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("Resume it before suspending it again", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resume_NotSuspended_Returns409()
    {
        await BindAsync();

        using var response = await _client.PostAsJsonAsync("/api/v1/bindings/lease-1/resume", new ResumeRequest(Pid));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("nothing to resume", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resume_UnknownTargetGpu_Returns400NamingTheGpus()
    {
        await BindAsync();
        (await PostThroughTransferAsync("/api/v1/bindings/lease-1/suspend", new SuspendRequest(Pid), SliceBytes)).Dispose();

        using var response = await _client.PostAsJsonAsync("/api/v1/bindings/lease-1/resume", new ResumeRequest(TargetGpuIndex: 9));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ValidationProblemDetails>();
        Assert.Contains("0, 1, 2, 3", Assert.Single(problem!.Errors["targetGpuIndex"]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Suspend_InvalidPid_Returns400()
    {
        await BindAsync();

        using var response = await _client.PostAsJsonAsync("/api/v1/bindings/lease-1/suspend", new SuspendRequest(-1));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("pid", (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!.Errors.Keys);
    }

    [Fact]
    public async Task Resume_AfterTheSliceWasUnbound_StillKnowsTheSuspendedProcess()
    {
        await BindAsync();
        (await PostThroughTransferAsync("/api/v1/bindings/lease-1/suspend", new SuspendRequest(Pid), SliceBytes)).Dispose();
        (await _client.DeleteAsync("/api/v1/bindings/lease-1?epoch=1")).EnsureSuccessStatusCode();

        using var response = await PostThroughTransferAsync("/api/v1/bindings/lease-1/resume", body: null, SliceBytes);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Pid, (await response.Content.ReadFromJsonAsync<SuspendResumeResult>())!.Pid);
    }

    [Theory]
    [InlineData("suspend")]
    [InlineData("resume")]
    public async Task AnyOperation_WithoutKey_Returns401(string operation)
    {
        using var anonymous = _factory.CreateClient();

        using var response = await anonymous.PostAsync($"/api/v1/bindings/lease-1/{operation}", content: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
