using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using Attach.Contracts.Http;
using Attach.Contracts.Kernels;
using Attach.Gateway.Broker;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attach.Gateway.Tests.Broker;

/// <summary>What the relay observes reaches the broker in batches, one request per user, in the order it was seen.</summary>
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
