using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Attach.Contracts.Kernels;
using Attach.Gateway.Broker;
using Attach.Gateway.Channels.Protocol;
using Attach.Gateway.Tests.Channels;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attach.Gateway.Tests.Broker;

/// <summary>
/// A cell that shows no GPU evidence at all by the broker's own rules goes to the kernel without waiting for the
/// broker, and the broker is told of it afterwards; every other cell still waits for the broker's decision.
/// </summary>
public sealed class ExecutionGateTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>Two of the shipped rules and the broker's directive line, as <c>GET /api/v1/detection/rules</c> gives them.</summary>
    private static readonly ExecutionRuleSet Rules = new(
        [new ExecutionRule("cuda-call", @"\.cuda\s*\("), new ExecutionRule("cupy", @"^\s*(import\s+cupy\b|from\s+cupy\b)")],
        @"^[ \t]*(?:%attach[ \t]+gpu\b(?<args>[^\r\n]*)|#[ \t]*attach[ \t]*:(?<args>[^\r\n]*))");

    [Theory]
    [InlineData("x = 1")]
    [InlineData("df = load()\ndf.describe()")]
    [InlineData("import numpy as np\nnp.ones(3).sum()")]
    public void ACellWithNoCommentNoStringAndNoRuleMatch_ShowsNoEvidence(string code) =>
        Assert.True(ExecutionRules.TryCreate(Rules)!.ShowsNoEvidence(code));

    [Theory]
    [InlineData("model = Net().cuda()")]
    [InlineData("  import cupy as cp")]
    [InlineData("%attach gpu mem=20G\nx = 1")]
    public void ACellThatARuleOrADirectiveMatches_IsLeftToTheBroker(string code) =>
        Assert.False(ExecutionRules.TryCreate(Rules)!.ShowsNoEvidence(code));

    [Theory]
    [InlineData("x = 1  # a comment the broker removes first")]
    [InlineData("# attach: mem=20G\nx = 1")]
    [InlineData("print('hello')")]
    [InlineData("device = \"cuda\"")]
    public void ACellWithACommentOrAString_IsLeftToTheBroker_WhoseTextPreparationTheGatewayDoesNotRepeat(string code) =>
        Assert.False(ExecutionRules.TryCreate(Rules)!.ShowsNoEvidence(code));

    [Fact]
    public void ARuleThatDoesNotCompile_LeavesEveryCellToTheBroker()
    {
        var broken = Rules with { Rules = [.. Rules.Rules, new ExecutionRule("broken", "(unclosed")] };

        Assert.Null(ExecutionRules.TryCreate(broken));
    }

    [Fact]
    public async Task ACellWithNoEvidence_ReachesTheKernelWithoutWaitingForTheBroker_AndTheBrokerIsToldOfItAfterwards()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        await using var broker = await FakeBroker.StartAsync(ct);
        var connection = new RelayHarness(broker.Gate).Connect(KernelWireProtocols.V1Subprotocol);
        var (cell, _) = CellFrames.Execute(KernelWireProtocol.V1, "a", "x = 1");

        await connection.Client.SendAsync(cell, WebSocketMessageType.Binary, true, ct);

        // The broker never answers a decision here: the cell can only reach the kernel because nobody waited for one.
        Assert.Equal(cell, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        var told = await broker.Forwarded.Reader.ReadAsync(ct);
        Assert.Equal(("k1", "u", "a", "x = 1"), (told.KernelId, told.User, told.Request.MsgId, told.Request.Code));
        Assert.Equal(0, broker.DecisionCalls);
        await CellFrames.CloseBothAsync(connection, ct);
    }

    [Fact]
    public async Task ACellWithEvidence_StillWaitsForTheBrokersDecision_AndIsNotReportedAsForwarded()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        await using var broker = await FakeBroker.StartAsync(ct);
        var connection = new RelayHarness(broker.Gate).Connect(KernelWireProtocols.V1Subprotocol);
        var (gpuCell, _) = CellFrames.Execute(KernelWireProtocol.V1, "a", "y = x.cuda()");
        var (cpuCell, _) = CellFrames.Execute(KernelWireProtocol.V1, "b", "z = 2");

        await connection.Client.SendAsync(gpuCell, WebSocketMessageType.Binary, true, ct);
        await connection.Client.SendAsync(cpuCell, WebSocketMessageType.Binary, true, ct);
        var asked = await broker.Decisions.Reader.ReadAsync(ct);
        Assert.Equal(("a", "y = x.cuda()"), (asked.Request.MsgId, asked.Request.Code));
        asked.Answer.SetResult(new ExecutionDecision(false, "none", null, false, null));

        // In order: the held cell first, then the one behind it, which needed no decision.
        Assert.Equal(gpuCell, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        Assert.Equal(cpuCell, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        var told = await broker.Forwarded.Reader.ReadAsync(ct);
        Assert.Equal("b", told.Request.MsgId);
        Assert.Equal(1, broker.DecisionCalls);
        await CellFrames.CloseBothAsync(connection, ct);
    }

    [Fact]
    public async Task BeforeTheRulesAreFetched_EveryCellIsAskedAbout()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        await using var broker = await FakeBroker.StartAsync(ct, rulesLoaded: false);
        var connection = new RelayHarness(broker.Gate).Connect(null);
        var (cell, _) = CellFrames.Execute(KernelWireProtocol.Legacy, "a", "x = 1");

        await connection.Client.SendAsync(cell, WebSocketMessageType.Text, true, ct);
        var asked = await broker.Decisions.Reader.ReadAsync(ct);
        asked.Answer.SetResult(new ExecutionDecision(false, "none", null, false, null));

        Assert.Equal(cell, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        Assert.Equal(1, broker.DecisionCalls);
        Assert.False(broker.Forwarded.Reader.TryRead(out _));
        await CellFrames.CloseBothAsync(connection, ct);
    }

    /// <summary>
    /// The broker's HTTP API as the gateway's <see cref="BrokerClient"/> sees it: decisions wait for the test to answer
    /// them; forwarded-cell reports are recorded. Behind it, the real <see cref="ExecutionGate"/> and <see cref="ActivityReporter"/>.
    /// </summary>
    private sealed class FakeBroker : HttpMessageHandler, IAsyncDisposable, IHttpClientFactory
    {
        private readonly CancellationTokenSource _stop = new();
        private ActivityReporter _reporter = null!;
        private int _decisionCalls;

        public ExecutionGate Gate { get; private set; } = null!;

        public System.Threading.Channels.Channel<(ExecutionRequest Request, TaskCompletionSource<ExecutionDecision> Answer)> Decisions { get; } =
            System.Threading.Channels.Channel.CreateUnbounded<(ExecutionRequest, TaskCompletionSource<ExecutionDecision>)>();

        public System.Threading.Channels.Channel<ForwardedExecution> Forwarded { get; } = System.Threading.Channels.Channel.CreateUnbounded<ForwardedExecution>();

        public int DecisionCalls => Volatile.Read(ref _decisionCalls);

        public static async Task<FakeBroker> StartAsync(CancellationToken cancellationToken, bool rulesLoaded = true)
        {
            var broker = new FakeBroker();
            var client = new BrokerClient(broker);
            broker._reporter = new ActivityReporter(client, NullLogger<ActivityReporter>.Instance);
            var source = new ExecutionRulesSource(client, TimeProvider.System, NullLogger<ExecutionRulesSource>.Instance);
            source.Use(rulesLoaded ? ExecutionRules.TryCreate(Rules) : null);
            broker.Gate = new ExecutionGate(client, source, broker._reporter);
            await broker._reporter.StartAsync(cancellationToken);
            return broker;
        }

        public HttpClient CreateClient(string name) => new(this, disposeHandler: false) { BaseAddress = new Uri("http://broker.test/") };

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _reporter.StopAsync(CancellationToken.None);
            _reporter.Dispose();
            _stop.Dispose();
            Dispose();
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            var user = request.Headers.GetValues(Contracts.Http.AttachHeaders.User).Single();
            if (path == "/api/v1/kernels/reports")
            {
                var batch = await request.Content!.ReadFromJsonAsync<KernelReportBatch>(JsonSerializerOptions.Web, cancellationToken);
                foreach (var report in batch!.Reports)
                {
                    if (report.Forwarded is { } forwarded)
                    {
                        Forwarded.Writer.TryWrite(new ForwardedExecution(report.KernelId, user, forwarded));
                    }
                }

                return new HttpResponseMessage(HttpStatusCode.NoContent);
            }

            if (path == "/api/v1/kernels/k1/executions")
            {
                var body = await request.Content!.ReadFromJsonAsync<ExecutionRequest>(JsonSerializerOptions.Web, cancellationToken);
                Interlocked.Increment(ref _decisionCalls);
                var answer = new TaskCompletionSource<ExecutionDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
                Decisions.Writer.TryWrite((body!, answer));
                var decision = await answer.Task.WaitAsync(cancellationToken);
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(decision) };
            }

            return new HttpResponseMessage(HttpStatusCode.NotFound);
        }
    }
}
