using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using Attach.Contracts.Http;
using Attach.Contracts.Kernels;
using Attach.Gateway.Broker;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attach.Gateway.Tests.Broker;

/// <summary>What the relay observes reaches the broker in batches, one request per user, coalesced per kernel to what the broker would conclude from all of it.</summary>
public sealed class ActivityReporterTests
{
    [Fact]
    public async Task Observations_MadeTogether_GoToTheBrokerAsOneRequestPerUser_InTheOrderSeen()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var ct = timeout.Token;
        using var broker = new RecordingBroker();
        using var reporter = new ActivityReporter(new BrokerClient(broker), NullLogger<ActivityReporter>.Instance);
        reporter.EnqueueForwarded(new ForwardedExecution("k1", "ada", new ExecutionRequest("a", "x = 1")));
        reporter.Enqueue(new ObservedActivity("k1", "ada", new KernelActivityReport(KernelActivity.Busy, "a")));
        reporter.Enqueue(new ObservedActivity("k2", "bob", new KernelActivityReport(KernelActivity.Busy, "b")));
        reporter.Enqueue(new ObservedActivity("k1", "ada", new KernelActivityReport(KernelActivity.Idle, "a")));

        await reporter.StartAsync(ct);
        var first = await broker.Batches.Reader.ReadAsync(ct);
        var second = await broker.Batches.Reader.ReadAsync(ct);
        await reporter.StopAsync(ct);

        var byUser = new[] { first, second }.ToDictionary(b => b.User, b => b.Batch.Reports);
        Assert.Equal(
            ["k1 forwarded a", "k1 Busy", "k1 Idle"],
            byUser["ada"].Select(r => r.Forwarded is { } f ? $"{r.KernelId} forwarded {f.MsgId}" : $"{r.KernelId} {r.Activity!.Activity}"));
        Assert.Equal(["k2 Busy"], byUser["bob"].Select(r => $"{r.KernelId} {r.Activity!.Activity}"));
        Assert.False(broker.Batches.Reader.TryRead(out _));
    }

    [Fact]
    public async Task ManyCellsOfOneKernelInOneWindow_ReachTheBrokerAsTheLastForwardedCell_ThenBusy_ThenIdle()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var ct = timeout.Token;
        using var broker = new RecordingBroker();
        using var reporter = new ActivityReporter(new BrokerClient(broker), NullLogger<ActivityReporter>.Instance);
        foreach (var cell in new[] { "a", "b", "c" })
        {
            reporter.EnqueueForwarded(new ForwardedExecution("k1", "ada", new ExecutionRequest(cell, "x = 1")));
            reporter.Enqueue(new ObservedActivity("k1", "ada", new KernelActivityReport(KernelActivity.Busy, cell)));
            reporter.Enqueue(new ObservedActivity("k1", "ada", new KernelActivityReport(KernelActivity.Idle, cell)));
        }

        await reporter.StartAsync(ct);
        var batch = await broker.Batches.Reader.ReadAsync(ct);
        await reporter.StopAsync(ct);

        // The broker concludes what it would have from all nine: the kernel ran cells and is idle since the last one.
        Assert.Equal(["k1 forwarded c", "k1 Busy c", "k1 Idle c"], batch.Batch.Reports.Select(Describe));
    }

    [Theory]
    [InlineData("Idle Idle", "Idle")]
    [InlineData("Busy", "Busy")]
    [InlineData("Busy Idle Busy", "Idle Busy")]
    [InlineData("Idle Busy Idle Busy Idle", "Busy Idle")]
    public async Task ActivityWithinAWindow_IsSentAsTheOtherStateSeen_ThenTheLast(string seen, string sent)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var ct = timeout.Token;
        using var broker = new RecordingBroker();
        using var reporter = new ActivityReporter(new BrokerClient(broker), NullLogger<ActivityReporter>.Instance);
        foreach (var state in seen.Split(' '))
        {
            reporter.Enqueue(new ObservedActivity("k1", "ada", new KernelActivityReport(Enum.Parse<KernelActivity>(state), "m")));
        }

        await reporter.StartAsync(ct);
        var batch = await broker.Batches.Reader.ReadAsync(ct);
        await reporter.StopAsync(ct);

        Assert.Equal(sent, string.Join(' ', batch.Batch.Reports.Select(r => r.Activity!.Activity)));
    }

    [Fact]
    public async Task ObservationsAfterABatchWasSent_GoInTheNextBatch_NothingIsLost()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var ct = timeout.Token;
        using var broker = new RecordingBroker();
        using var reporter = new ActivityReporter(new BrokerClient(broker), NullLogger<ActivityReporter>.Instance);
        await reporter.StartAsync(ct);

        reporter.Enqueue(new ObservedActivity("k1", "ada", new KernelActivityReport(KernelActivity.Busy, "a")));
        var first = await broker.Batches.Reader.ReadAsync(ct);
        reporter.Enqueue(new ObservedActivity("k1", "ada", new KernelActivityReport(KernelActivity.Idle, "a")));
        var second = await broker.Batches.Reader.ReadAsync(ct);
        await reporter.StopAsync(ct);

        Assert.Equal(["k1 Busy a"], first.Batch.Reports.Select(Describe));
        Assert.Equal(["k1 Idle a"], second.Batch.Reports.Select(Describe));
    }

    private static string Describe(KernelReport report) =>
        report.Forwarded is { } forwarded ? $"{report.KernelId} forwarded {forwarded.MsgId}" : $"{report.KernelId} {report.Activity!.Activity} {report.Activity.ParentMsgId}";

    private sealed class RecordingBroker : HttpMessageHandler, IHttpClientFactory
    {
        public Channel<(string User, KernelReportBatch Batch)> Batches { get; } = Channel.CreateUnbounded<(string, KernelReportBatch)>();

        public HttpClient CreateClient(string name) => new(this, disposeHandler: false) { BaseAddress = new Uri("http://broker.test/") };

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.Equal("/api/v1/kernels/reports", request.RequestUri!.AbsolutePath);
            var batch = await request.Content!.ReadFromJsonAsync<KernelReportBatch>(JsonSerializerOptions.Web, cancellationToken);
            Batches.Writer.TryWrite((request.Headers.GetValues(AttachHeaders.User).Single(), batch!));
            return new HttpResponseMessage(HttpStatusCode.NoContent);
        }
    }
}
