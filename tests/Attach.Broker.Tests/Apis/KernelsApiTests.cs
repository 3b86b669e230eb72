using System.Net;
using System.Net.Http.Json;
using System.Text;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Microsoft.AspNetCore.Hosting;

namespace Attach.Broker.Tests.Apis;

public sealed class KernelsApiTests : IAsyncLifetime
{
    private const string GpuCell = "model = Net().cuda()\nmodel(x.cuda())";
    private const string CpuCell = "import pandas as pd\npd.read_csv('sales.csv').describe()";

    private readonly BrokerApp _app = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Request_WithoutTheInternalKey_Is401()
    {
        using var client = _app.CreateClient(user: "alice", key: null);

        using var list = await client.GetAsync("/api/v1/kernels");
        using var execute = await client.PostAsJsonAsync("/api/v1/kernels/k-1/executions", new ExecutionRequest("m-1", GpuCell));

        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, execute.StatusCode);
        Assert.Empty(_app.Binder.Binds);
    }

    [Fact]
    public async Task Request_WithAWrongKey_Is401()
    {
        using var client = _app.CreateClient(user: "alice", key: "wrong-internal-key-0123456789abcdefghijk");

        using var response = await client.PostAsJsonAsync("/api/v1/kernels/k-1/executions", new ExecutionRequest("m-1", GpuCell));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(_app.Binder.Binds);
    }

    [Fact]
    public async Task Request_WithAPrefixOfTheKey_Is401()
    {
        using var client = _app.CreateClient(user: "alice", key: BrokerApp.InternalKey[..32]);

        using var response = await client.GetAsync("/api/v1/kernels");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Execute_CpuCell_DoesNotNeedAGpuAndBindsNothing()
    {
        using var client = _app.CreateClient("alice");

        var decision = await ExecuteAsync(client, "k-1", CpuCell);

        Assert.False(decision.NeedsGpu);
        Assert.Equal("none", decision.Rule);
        Assert.Null(decision.Attachment);
        Assert.Empty(_app.Binder.Binds);
    }

    [Fact]
    public async Task RegisteredSession_ShimRequestFromAnAgent_IsFiledUnderTheUserNotTheUid()
    {
        using var alice = _app.CreateClient("alice");
        using var bob = _app.CreateClient("bob");
        using var agent = _app.CreateClient(user: null);

        using var registered = await alice.PutAsync("/api/v1/kernels/run-1", null);
        using var stolen = await bob.PutAsync("/api/v1/kernels/run-1", null);
        using var runtime = await agent.PostAsJsonAsync("/api/v1/kernels/run-1/runtime-attach", new RuntimeAttachRequest("node-a", 4242, 1000, 1000, null, true));
        var decision = await runtime.Content.ReadFromJsonAsync<RuntimeAttachDecision>();
        var mine = await alice.GetFromJsonAsync<KernelStatus[]>("/api/v1/kernels");

        Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, stolen.StatusCode);
        Assert.Equal(RuntimeAttachStatus.Granted, decision!.Status);
        var session = Assert.Single(mine!, k => k.KernelId == "run-1");
        Assert.Equal(("alice", KernelState.Attached), (session.Owner, session.State));
    }

    [Theory]
    [InlineData(1000, "alice")]
    [InlineData(1001, "uid-1001")]
    public async Task UnregisteredSession_FromTheShim_BelongsToTheUserOfItsUid(long uid, string owner)
    {
        await using var app = new BrokerApp { Settings = [("Broker:UidOwners:1000", "alice")] };
        using var agent = app.CreateClient(user: null);

        using var runtime = await agent.PostAsJsonAsync("/api/v1/kernels/ide-kernel/runtime-attach", new RuntimeAttachRequest("node-a", 4242, uid, uid, null, true));
        var status = await agent.GetFromJsonAsync<KernelStatus>("/api/v1/kernels/ide-kernel");

        Assert.Equal(HttpStatusCode.OK, runtime.StatusCode);
        Assert.Equal(owner, status!.Owner);
    }

    [Fact]
    public async Task Execute_GpuCell_AnswersOnceAttachedWithTheSlice()
    {
        using var client = _app.CreateClient("alice");

        var decision = await ExecuteAsync(client, "k-1", GpuCell);

        Assert.True(decision.NeedsGpu);
        Assert.Equal("cuda-call", decision.Rule);
        Assert.True(decision.NewlyAttached);
        Assert.Null(decision.Error);
        Assert.NotNull(decision.Attachment);
        Assert.Equal("A100 80GB (simulated)", decision.Attachment.GpuName);
        Assert.Equal(20 * 1024, decision.Attachment.SliceMemoryMiB);
        var bind = Assert.Single(_app.Binder.Binds);
        Assert.Equal(("k-1", "alice"), (bind.KernelId, bind.Owner));
        var status = await client.GetFromJsonAsync<KernelStatus>("/api/v1/kernels/k-1");
        Assert.Equal(KernelState.Attached, status!.State);
        Assert.NotNull(status.ReleaseAt);
    }

    [Fact]
    public async Task Execute_SecondGpuCell_UsesTheSameSlice()
    {
        using var client = _app.CreateClient("alice");
        var first = await ExecuteAsync(client, "k-1", GpuCell);

        var second = await ExecuteAsync(client, "k-1", "torch.cuda.synchronize()");

        Assert.False(second.NewlyAttached);
        Assert.Equal(first.Attachment, second.Attachment);
        Assert.Single(_app.Binder.Binds);
    }

    [Fact]
    public async Task Execute_CpuCellOnAnAttachedKernel_ReportsTheSliceItHolds()
    {
        using var client = _app.CreateClient("alice");
        var gpu = await ExecuteAsync(client, "k-1", GpuCell);

        var cpu = await ExecuteAsync(client, "k-1", CpuCell);

        Assert.False(cpu.NeedsGpu);
        Assert.Equal(gpu.Attachment, cpu.Attachment);
    }

    [Fact]
    public async Task Execute_AttachFails_AnswersWithTheReason()
    {
        _app.Binder.BindFailure = "no GPU node is registered with the broker: check that an attach agent is running";
        using var client = _app.CreateClient("alice");

        var decision = await ExecuteAsync(client, "k-1", GpuCell);

        Assert.True(decision.NeedsGpu);
        Assert.Null(decision.Attachment);
        Assert.Equal(_app.Binder.BindFailure, decision.Error);
        var status = await client.GetFromJsonAsync<KernelStatus>("/api/v1/kernels/k-1");
        Assert.Equal((KernelState.Failed, _app.Binder.BindFailure), (status!.State, status.Reason));
    }

    [Theory]
    [InlineData("not%20valid")]
    [InlineData("semi%3Bcolon")]
    [InlineData("Ω-kernel")]
    public async Task InvalidKernelId_Is400(string kernelId)
    {
        using var client = _app.CreateClient("alice");

        using var get = await client.GetAsync($"/api/v1/kernels/{kernelId}");
        using var execute = await client.PostAsJsonAsync($"/api/v1/kernels/{kernelId}/executions", new ExecutionRequest("m-1", GpuCell));
        using var release = await client.PostAsync($"/api/v1/kernels/{kernelId}/release", null);
        using var delete = await client.DeleteAsync($"/api/v1/kernels/{kernelId}");

        Assert.All([get, execute, release, delete], r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        Assert.Empty(_app.Binder.Binds);
    }

    [Fact]
    public async Task KernelIdWithATrailingNewline_Is400()
    {
        using var client = _app.CreateClient("alice");

        using var response = await client.PostAsJsonAsync("/api/v1/kernels/k-1%0A/executions", new ExecutionRequest("m-1", CpuCell));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task DetectionRuleThatIsNotARegex_BrokerRefusesToStart()
    {
        await using var broken = _app.WithWebHostBuilder(b => b.UseSetting("Detection:Rules:0:Pattern", "\\.cuda\\s*\\((unclosed"));

        var start = Record.Exception(() => broken.CreateClient().Dispose());

        Assert.NotNull(start);
    }

    [Fact]
    public async Task KernelIdLongerThan128Characters_Is400()
    {
        using var client = _app.CreateClient("alice");

        using var response = await client.PostAsJsonAsync($"/api/v1/kernels/{new string('a', 129)}/executions", new ExecutionRequest("m-1", GpuCell));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("{\"msgId\": \"m-1\", \"code\": ")]
    [InlineData("not json at all")]
    [InlineData("{\"msgId\": \"m-1\", \"code\": 42}")]
    [InlineData("[1, 2, 3]")]
    [InlineData("null")]
    public async Task Execute_MalformedBody_Is400(string body)
    {
        await using var production = new BrokerApp("Production");
        using var client = production.CreateClient("alice");

        using var response = await PostJsonAsync(client, "/api/v1/kernels/k-1/executions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(production.Binder.Binds);
    }

    [Theory]
    [InlineData("{\"msgId\": \"m-1\", \"code\": ")]
    [InlineData("not json at all")]
    [InlineData("{\"msgId\": \"m-1\", \"code\": 42}")]
    [InlineData("null")]
    public async Task Execute_MalformedBody_InDevelopment_Is400(string body)
    {
        using var client = _app.CreateClient("alice");

        using var response = await PostJsonAsync(client, "/api/v1/kernels/k-1/executions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"msgId\": \"\", \"code\": \"x.cuda()\"}")]
    [InlineData("{\"msgId\": \"m-1\"}")]
    public async Task Execute_BodyMissingMsgIdOrCode_Is400(string body)
    {
        using var client = _app.CreateClient("alice");

        using var response = await PostJsonAsync(client, "/api/v1/kernels/k-1/executions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(_app.Binder.Binds);
    }

    [Theory]
    [InlineData("{\"activity\": \"Sleeping\"}")]
    [InlineData("{\"activity\": 7}")]
    [InlineData("{")]
    public async Task Activity_InvalidReport_Is400(string body)
    {
        await using var production = new BrokerApp("Production");
        using var client = production.CreateClient("alice");

        using var response = await PostJsonAsync(client, "/api/v1/kernels/k-1/activity", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("{\"activity\": \"Sleeping\"}")]
    [InlineData("{")]
    public async Task Activity_InvalidReport_InDevelopment_Is400(string body)
    {
        using var client = _app.CreateClient("alice");

        using var response = await PostJsonAsync(client, "/api/v1/kernels/k-1/activity", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Activity_BusyThenIdle_ShowsInTheStatus()
    {
        using var client = _app.CreateClient("alice");
        await ExecuteAsync(client, "k-1", GpuCell);

        using var busy = await client.PostAsJsonAsync("/api/v1/kernels/k-1/activity", new KernelActivityReport(KernelActivity.Busy, "m-1"));
        var whileBusy = await client.GetFromJsonAsync<KernelStatus>("/api/v1/kernels/k-1");
        using var idle = await client.PostAsJsonAsync("/api/v1/kernels/k-1/activity", new KernelActivityReport(KernelActivity.Idle, "m-1"));
        var whileIdle = await client.GetFromJsonAsync<KernelStatus>("/api/v1/kernels/k-1");

        Assert.Equal(HttpStatusCode.NoContent, busy.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, idle.StatusCode);
        Assert.Equal((true, (DateTimeOffset?)null), (whileBusy!.Busy, whileBusy.ReleaseAt));
        Assert.False(whileIdle!.Busy);
        Assert.NotNull(whileIdle.ReleaseAt);
    }

    [Fact]
    public async Task Release_AttachedKernel_GivesTheSliceBack()
    {
        using var client = _app.CreateClient("alice");
        var decision = await ExecuteAsync(client, "k-1", GpuCell);

        using var response = await client.PostAsync("/api/v1/kernels/k-1/release", null);

        response.EnsureSuccessStatusCode();
        var status = await response.Content.ReadFromJsonAsync<KernelStatus>();
        Assert.Equal(KernelState.Detached, status!.State);
        Assert.Equal([decision.Attachment!.LeaseId], _app.Binder.Unbinds);
    }

    [Fact]
    public async Task Delete_AttachedKernel_ReleasesAndForgetsIt()
    {
        using var client = _app.CreateClient("alice");
        await ExecuteAsync(client, "k-1", GpuCell);

        using var delete = await client.DeleteAsync("/api/v1/kernels/k-1");
        using var get = await client.GetAsync("/api/v1/kernels/k-1");

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Single(_app.Binder.Unbinds);
    }

    [Fact]
    public async Task UnknownKernel_Is404()
    {
        using var client = _app.CreateClient("alice");

        using var get = await client.GetAsync("/api/v1/kernels/never-seen");
        using var release = await client.PostAsync("/api/v1/kernels/never-seen/release", null);
        using var delete = await client.DeleteAsync("/api/v1/kernels/never-seen");

        Assert.All([get, release, delete], r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
    }

    [Fact]
    public async Task AnotherUsersKernel_IsNotFoundAndUntouched()
    {
        using var alice = _app.CreateClient("alice");
        using var bob = _app.CreateClient("bob");
        await ExecuteAsync(alice, "k-7f3a", GpuCell);

        using var get = await bob.GetAsync("/api/v1/kernels/k-7f3a");
        using var release = await bob.PostAsync("/api/v1/kernels/k-7f3a/release", null);
        using var delete = await bob.DeleteAsync("/api/v1/kernels/k-7f3a");
        using var execute = await bob.PostAsJsonAsync("/api/v1/kernels/k-7f3a/executions", new ExecutionRequest("m-9", GpuCell));
        using var activity = await bob.PostAsJsonAsync("/api/v1/kernels/k-7f3a/activity", new KernelActivityReport(KernelActivity.Busy, "m-9"));

        Assert.All([get, release, delete, execute, activity], r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        Assert.DoesNotContain("alice", await get.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_app.Binder.Unbinds);
        Assert.Single(_app.Binder.Binds);
        var status = await alice.GetFromJsonAsync<KernelStatus>("/api/v1/kernels/k-7f3a");
        Assert.Equal((KernelState.Attached, false), (status!.State, status.Busy));
    }

    [Fact]
    public async Task List_ShowsOnlyTheCallersKernels()
    {
        using var alice = _app.CreateClient("alice");
        using var bob = _app.CreateClient("bob");
        await ExecuteAsync(alice, "k-alice-1", GpuCell);
        await ExecuteAsync(alice, "k-alice-2", CpuCell);
        await ExecuteAsync(bob, "k-bob", CpuCell);

        var bobs = await bob.GetFromJsonAsync<KernelStatus[]>("/api/v1/kernels");
        var alices = await alice.GetFromJsonAsync<KernelStatus[]>("/api/v1/kernels");

        Assert.Equal(["k-bob"], bobs!.Select(k => k.KernelId));
        Assert.Equal(["k-alice-1", "k-alice-2"], alices!.Select(k => k.KernelId));
        Assert.All(alices!, k => Assert.Equal("alice", k.Owner));
    }

    [Fact]
    public async Task List_ForTheServiceItself_ShowsEveryKernel()
    {
        using var alice = _app.CreateClient("alice");
        using var bob = _app.CreateClient("bob");
        using var service = _app.CreateClient(user: null);
        await ExecuteAsync(alice, "k-alice", CpuCell);
        await ExecuteAsync(bob, "k-bob", CpuCell);

        var all = await service.GetFromJsonAsync<KernelStatus[]>("/api/v1/kernels");

        Assert.Equal(["k-alice", "k-bob"], all!.Select(k => k.KernelId));
    }

    private static async Task<HttpResponseMessage> PostJsonAsync(HttpClient client, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        return await client.PostAsync(path, content);
    }

    [Fact]
    public async Task Reports_AForwardedCpuCell_RecordsTheKernelForItsUser_AndBindsNothing()
    {
        using var alice = _app.CreateClient("alice");
        using var bob = _app.CreateClient("bob");

        using var response = await alice.PostAsJsonAsync("/api/v1/kernels/reports", new KernelReportBatch(
            [new KernelReport("k-fwd", null, new ExecutionRequest("m-1", "x = 1")), new KernelReport("k-fwd", new KernelActivityReport(KernelActivity.Busy, "m-1"), null)]));
        var mine = await alice.GetFromJsonAsync<KernelStatus[]>("/api/v1/kernels");
        using var theirs = await bob.GetAsync("/api/v1/kernels/k-fwd");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Contains(mine!, k => k.KernelId == "k-fwd");
        Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
        Assert.Empty(_app.Binder.Binds);
    }

    [Fact]
    public async Task Reports_AForwardedCellTheBrokersRulesMarkAsGpuWork_AttachesNothing()
    {
        using var alice = _app.CreateClient("alice");

        using var response = await alice.PostAsJsonAsync("/api/v1/kernels/reports", new KernelReportBatch([new KernelReport("k-fwd", null, new ExecutionRequest("m-1", GpuCell))]));
        var status = await alice.GetFromJsonAsync<KernelStatus>("/api/v1/kernels/k-fwd");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(KernelState.Detached, status!.State);
        Assert.Empty(_app.Binder.Binds);
    }

    [Fact]
    public async Task Reports_ABatchWithOneBadReport_IsAProblem_AndAppliesNothing()
    {
        using var alice = _app.CreateClient("alice");

        using var response = await alice.PostAsJsonAsync("/api/v1/kernels/reports", new KernelReportBatch(
            [new KernelReport("k-good", null, new ExecutionRequest("m-1", "x = 1")), new KernelReport("k-bad", null, null)]));
        var mine = await alice.GetFromJsonAsync<KernelStatus[]>("/api/v1/kernels");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.DoesNotContain(mine!, k => k.KernelId == "k-good");
    }

    [Fact]
    public async Task Rules_WithoutTheInternalKey_Is401()
    {
        using var client = _app.CreateClient(user: "alice", key: null);

        using var response = await client.GetAsync("/api/v1/detection/rules");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    /// <summary>
    /// The contract the gateway relies on to forward a cell without asking: on code with no comment and no string, the
    /// published rules and directive, matched as published, agree with the broker's own decision.
    /// </summary>
    [Theory]
    [InlineData("x = 1")]
    [InlineData("model = Net().cuda()")]
    [InlineData("import cupy as cp")]
    [InlineData("y = torch.cuda.memory_allocated()")]
    [InlineData("ok = torch.cuda.is_available()")]
    [InlineData("%attach gpu mem=20G\nx = 1")]
    [InlineData("%gpu")]
    [InlineData("!nvidia-smi")]
    [InlineData("df = pd.read_csv(path)\ndf.describe()")]
    public async Task Rules_MatchedOnCodeWithoutCommentsOrStrings_AgreeWithTheBrokersDecision(string code)
    {
        using var client = _app.CreateClient("alice");

        var rules = await client.GetFromJsonAsync<ExecutionRuleSet>("/api/v1/detection/rules");
        var decision = await ExecuteAsync(client, "k-rules", code);

        var options = System.Text.RegularExpressions.RegexOptions.Multiline | System.Text.RegularExpressions.RegexOptions.CultureInvariant;
        var matched = rules!.Rules.Any(r => System.Text.RegularExpressions.Regex.IsMatch(code, r.Pattern, options))
            || System.Text.RegularExpressions.Regex.IsMatch(code, rules.DirectivePattern, options | System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        Assert.NotEmpty(rules.Rules);
        Assert.Equal(decision.NeedsGpu, matched);
    }

    private static async Task<ExecutionDecision> ExecuteAsync(HttpClient client, string kernelId, string code)
    {
        using var response = await client.PostAsJsonAsync($"/api/v1/kernels/{kernelId}/executions", new ExecutionRequest($"msg-{Guid.NewGuid():N}", code));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ExecutionDecision>().WaitAsync(TestTimeouts.Event))!;
    }
}
