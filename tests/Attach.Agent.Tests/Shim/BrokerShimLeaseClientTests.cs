using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Attach.Agent.Broker;
using Attach.Agent.Shim;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Kernels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Tests.Shim;

public sealed class BrokerShimLeaseClientTests : IDisposable
{
    private static readonly PeerCredentials Peer = new(4242, 1000, 1001);
    private static readonly AttachmentInfo Attachment = new("lease-9", "node-a", 1, "SIM-1", "A100 80GB (simulated)", true, 20480, 81920, 3.5);

    private readonly TimerSignalingTimeProvider _time = new();
    private readonly FakeBrokerHandler _broker = new();
    private readonly HttpClient _http;
    private readonly BrokerShimLeaseClient _client;
    private readonly ShimOptions _options = new() { QueuePollInterval = TimeSpan.FromSeconds(2) };

    public BrokerShimLeaseClientTests()
    {
        var agent = new AgentOptions { NodeId = "node-a", BrokerUrl = new Uri("http://broker.test:5100/attach"), AdvertisedUrl = new Uri("http://node-a.test:5200") };
        _http = new HttpClient(_broker) { BaseAddress = BaseUrl.WithTrailingSlash(agent.BrokerUrl) };
        _client = new BrokerShimLeaseClient(new BrokerClient(_http), Options.Create(agent), Options.Create(_options), _time, NullLogger<BrokerShimLeaseClient>.Instance);
    }

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task RequestAsync_Granted_PostsRuntimeAttachWithPeerAndNode()
    {
        _broker.Respond = _ => Json(new RuntimeAttachDecision(RuntimeAttachStatus.Granted, Attachment, true, null, null, null));

        var decision = await _client.RequestAsync(new ShimLeaseRequest("kernel-1", Peer, 20480, Wait: true), NoQueue, CancellationToken.None);

        Assert.True(decision.Granted);
        Assert.Equal(Attachment, decision.Attachment);
        Assert.True(decision.NewlyAttached);
        var request = await _broker.NextRequestAsync();
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://broker.test:5100/attach/api/v1/kernels/kernel-1/runtime-attach", request.Uri.ToString());
        var body = JsonSerializer.Deserialize<RuntimeAttachRequest>(request.Body, JsonSerializerOptions.Web);
        Assert.Equal(new RuntimeAttachRequest("node-a", 4242, 1000, 1001, 20480, true), body);
        Assert.Contains("\"memoryMiB\":20480", request.Body);
    }

    [Fact]
    public async Task RequestAsync_Batch_AsksTheBrokerForTheBatchClass()
    {
        _broker.Respond = _ => Json(new RuntimeAttachDecision(RuntimeAttachStatus.Granted, Attachment, true, null, null, null));

        await _client.RequestAsync(new ShimLeaseRequest("run-1", Peer, null, Wait: true, AttachPriority.Batch), NoQueue, CancellationToken.None);

        var request = await _broker.NextRequestAsync();
        Assert.Equal(AttachPriority.Batch, JsonSerializer.Deserialize<RuntimeAttachRequest>(request.Body, JsonSerializerOptions.Web)!.Priority);
        Assert.Contains("\"priority\":\"Batch\"", request.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestAsync_Queued_PollsEveryIntervalAndReportsPositions()
    {
        var answers = new Queue<RuntimeAttachDecision>([
            new(RuntimeAttachStatus.Queued, null, false, 2, 40, null),
            new(RuntimeAttachStatus.Queued, null, false, 1, null, null),
            new(RuntimeAttachStatus.Granted, Attachment, true, null, null, null),
        ]);
        _broker.Respond = _ => Json(answers.Dequeue());
        var positions = new List<ShimQueuePosition>();

        var request = _client.RequestAsync(new ShimLeaseRequest("kernel-1", Peer, null, Wait: true), (position, _) =>
        {
            positions.Add(position);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        Assert.Equal(_options.QueuePollInterval, await _time.NextTimerAsync());
        _time.Advance(_options.QueuePollInterval);
        Assert.Equal(_options.QueuePollInterval, await _time.NextTimerAsync());
        _time.Advance(_options.QueuePollInterval);
        var decision = await request;

        Assert.True(decision.Granted);
        Assert.Equal([new ShimQueuePosition(2, TimeSpan.FromSeconds(40)), new ShimQueuePosition(1, null)], positions);
        for (var i = 0; i < 3; i++)
        {
            Assert.EndsWith("/runtime-attach", (await _broker.NextRequestAsync()).Uri.AbsolutePath);
        }
    }

    [Fact]
    public async Task RequestAsync_CancelledWhileQueued_DropsTheQueuePlace()
    {
        _broker.Respond = request => request.RequestUri!.AbsolutePath.EndsWith("/release", StringComparison.Ordinal)
            ? new HttpResponseMessage(HttpStatusCode.OK)
            : Json(new RuntimeAttachDecision(RuntimeAttachStatus.Queued, null, false, 5, null, null));
        using var cancellation = new CancellationTokenSource();

        var request = _client.RequestAsync(new ShimLeaseRequest("kernel-1", Peer, null, Wait: true), NoQueue, cancellation.Token);
        await _time.NextTimerAsync();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await _broker.NextRequestAsync();
        var drop = await _broker.NextRequestAsync();
        Assert.Equal("http://broker.test:5100/attach/api/v1/kernels/kernel-1/release", drop.Uri.ToString());
        var body = JsonSerializer.Deserialize<RuntimeReleaseRequest>(drop.Body, JsonSerializerOptions.Web)!;
        Assert.Null(body.LeaseId);
        Assert.Equal(4242, body.Pid);
    }

    [Fact]
    public async Task RequestAsync_QueuedButNotWaiting_NoCapacityAndQueuePlaceDropped()
    {
        _broker.Respond = request => request.RequestUri!.AbsolutePath.EndsWith("/release", StringComparison.Ordinal)
            ? new HttpResponseMessage(HttpStatusCode.OK)
            : Json(new RuntimeAttachDecision(RuntimeAttachStatus.Queued, null, false, 1, null, null));

        var decision = await _client.RequestAsync(new ShimLeaseRequest("kernel-1", Peer, null, Wait: false), NoQueue, CancellationToken.None);

        Assert.Equal(ShimErrorCodes.NoCapacity, decision.ErrorCode);
        await _broker.NextRequestAsync();
        Assert.EndsWith("/release", (await _broker.NextRequestAsync()).Uri.AbsolutePath);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, ShimErrorCodes.Refused, "knows no session")]
    [InlineData(HttpStatusCode.Unauthorized, ShimErrorCodes.BrokerUnreachable, "Attach:InternalKey")]
    [InlineData(HttpStatusCode.InternalServerError, ShimErrorCodes.BrokerUnreachable, "500")]
    public async Task RequestAsync_BrokerFails_RefusalSaysWhy(HttpStatusCode status, string code, string hint)
    {
        _broker.Respond = _ => new HttpResponseMessage(status);

        var decision = await _client.RequestAsync(new ShimLeaseRequest("kernel-1", Peer, null, Wait: true), NoQueue, CancellationToken.None);

        Assert.Equal(code, decision.ErrorCode);
        Assert.Contains(hint, decision.Error);
    }

    [Fact]
    public async Task RequestAsync_BrokerDown_BrokerUnreachable()
    {
        _broker.Respond = _ => throw new HttpRequestException("Connection refused (broker.test:5100)");

        var decision = await _client.RequestAsync(new ShimLeaseRequest("kernel-1", Peer, null, Wait: true), NoQueue, CancellationToken.None);

        Assert.Equal(ShimErrorCodes.BrokerUnreachable, decision.ErrorCode);
        Assert.Contains("Connection refused", decision.Error);
    }

    [Fact]
    public async Task RequestAsync_BrokerRefuses_CarriesTheBrokersReason()
    {
        _broker.Respond = _ => Json(new RuntimeAttachDecision(RuntimeAttachStatus.Refused, null, false, null, null, "Quota: 2 GPUs per user."));

        var decision = await _client.RequestAsync(new ShimLeaseRequest("kernel-1", Peer, null, Wait: true), NoQueue, CancellationToken.None);

        Assert.Equal(ShimErrorCodes.Refused, decision.ErrorCode);
        Assert.Equal("Quota: 2 GPUs per user.", decision.Error);
    }

    [Fact]
    public async Task ReleaseAsync_PostsLeaseIdPidAndReason()
    {
        await _client.ReleaseAsync(new ShimLeaseRelease("kernel-1", "lease-9", Peer, "process 4242 exited"), CancellationToken.None);

        var request = await _broker.NextRequestAsync();
        Assert.Equal("http://broker.test:5100/attach/api/v1/kernels/kernel-1/release", request.Uri.ToString());
        Assert.Equal(new RuntimeReleaseRequest("lease-9", 4242, "process 4242 exited"), JsonSerializer.Deserialize<RuntimeReleaseRequest>(request.Body, JsonSerializerOptions.Web));
    }

    private static ValueTask NoQueue(ShimQueuePosition position, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    private static HttpResponseMessage Json(RuntimeAttachDecision decision) =>
        new(HttpStatusCode.OK) { Content = JsonContent.Create(decision, options: JsonSerializerOptions.Web) };
}
