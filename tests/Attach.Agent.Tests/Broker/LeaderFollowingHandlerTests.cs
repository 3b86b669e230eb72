using System.Net;
using System.Net.Http.Json;
using System.Text;
using Attach.Agent.Broker;
using Attach.Agent.Tests.Support;
using Attach.ServiceDefaults.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attach.Agent.Tests.Broker;

/// <summary>
/// Several brokers on one PostgreSQL: a follower refuses with a 503 that names the leader's URL; the broker's clients
/// (agent and gateway) send the call on to the leader and keep calling it while it leads.
/// </summary>
public sealed class LeaderFollowingHandlerTests
{
    private static readonly Uri Follower = new("http://broker-a.test:5100/");

    [Fact]
    public async Task AFollowersRefusal_IsSentAgainToTheLeaderItNames_SamePathQueryBodyAndHeaders()
    {
        var brokers = new Brokers(leader: "http://broker-b.test:5100/");
        using var http = Client(brokers, out _);
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/kernels/k1/release?reason=idle") { Content = JsonContent.Create(new { leaseId = "l1" }) };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer key");

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["http://broker-a.test:5100/api/v1/kernels/k1/release?reason=idle", "http://broker-b.test:5100/api/v1/kernels/k1/release?reason=idle"], brokers.Seen.Select(s => s.Uri));
        var atLeader = brokers.Seen[1];
        Assert.Equal("POST", atLeader.Method);
        Assert.Equal("""{"leaseId":"l1"}""", atLeader.Body);
        Assert.Equal("Bearer key", atLeader.Authorization);
    }

    [Fact]
    public async Task OnceTheLeaderIsKnown_CallsGoStraightToIt_UntilItStopsAnswering_ThenTheConfiguredBrokerIsAskedAgain()
    {
        var brokers = new Brokers(leader: "http://broker-b.test:5100/");
        using var http = Client(brokers, out var handler);
        (await http.GetAsync("api/v1/pool")).Dispose();
        brokers.Seen.Clear();

        (await http.GetAsync("api/v1/pool")).Dispose();
        Assert.Equal(["http://broker-b.test:5100/api/v1/pool"], brokers.Seen.Select(s => s.Uri));
        Assert.Equal(new Uri("http://broker-b.test:5100/"), handler.Leader);

        // The leader dies; broker-a took over.
        brokers.Seen.Clear();
        brokers.Down.Add("broker-b.test");
        brokers.LeaderUrl = null;
        using var response = await http.GetAsync("api/v1/pool");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["http://broker-b.test:5100/api/v1/pool", "http://broker-a.test:5100/api/v1/pool"], brokers.Seen.Select(s => s.Uri));
        Assert.Null(handler.Leader);
    }

    [Fact]
    public async Task ARefusalThatNamesNoLeaderUrl_IsPassedOnAsIs_WithoutASecondCall()
    {
        var brokers = new Brokers(leader: null, followerRefuses: true);
        using var http = Client(brokers, out var handler);

        using var response = await http.GetAsync("api/v1/pool");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("does not lead", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(brokers.Seen);
        Assert.Null(handler.Leader);
    }

    [Theory]
    [InlineData("http://a:5100/api/v1/pool?x=1", "http://b:5100/", "http://b:5100/api/v1/pool?x=1")]
    [InlineData("https://gw.example/broker/api/v1/pool", "http://b:5100/", "http://b:5100/api/v1/pool")]
    [InlineData("http://a:5100/api/v1/pool", "https://gw.example/broker-b/", "https://gw.example/broker-b/api/v1/pool")]
    public void Rebase_MovesTheApiPathUnderTheLeadersUrl_WhateverEitherPathBase(string request, string leader, string expected) =>
        Assert.Equal(expected, LeaderFollowingHandler.Rebase(new Uri(request), new Uri(leader)).ToString());

    [Fact]
    public async Task TheAgentsHeartbeat_ReachesTheLeader_WhenItsBrokerUrlIsAFollower()
    {
        var broker = new FakeBrokerHandler
        {
            Respond = request => request.RequestUri!.Host == "broker.test"
                ? Brokers.Refusal("http://leader.test:5100/")
                : new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(new { }) },
        };
        await using var factory = new AgentFactory(
            new Dictionary<string, string?> { ["Agent:BrokerUrl"] = "http://broker.test:5100/" },
            services => services.AddHttpClient<BrokerClient>().ConfigurePrimaryHttpMessageHandler(() => broker));

        using var client = factory.CreateAuthorizedClient();
        var first = await broker.NextRequestAsync();
        var second = await broker.NextRequestAsync();

        Assert.Equal("http://broker.test:5100/api/v1/nodes/node-test/heartbeat", first.Uri.ToString());
        Assert.Equal("http://leader.test:5100/api/v1/nodes/node-test/heartbeat", second.Uri.ToString());
        Assert.Equal($"Bearer {AgentFactory.InternalKey}", second.Authorization);
    }

    private static HttpClient Client(Brokers brokers, out LeaderFollowingHandler handler)
    {
        handler = new LeaderFollowingHandler(NullLogger<LeaderFollowingHandler>.Instance) { InnerHandler = brokers };
        return new HttpClient(handler) { BaseAddress = Follower };
    }

    /// <summary>broker-a.test follows (refusing with the leader's URL) unless no leader is named; broker-b.test leads.</summary>
    private sealed class Brokers(string? leader, bool followerRefuses = false) : HttpMessageHandler
    {
        public string? LeaderUrl { get; set; } = leader;

        public HashSet<string> Down { get; } = [];

        public List<(string Method, string Uri, string? Authorization, string Body)> Seen { get; } = [];

        public static HttpResponseMessage Refusal(string? leaderUrl) => new(HttpStatusCode.ServiceUnavailable)
        {
            Content = new StringContent(
                $$"""{"title":"Broker is a follower","status":503,"detail":"Broker a does not lead, so it makes no decisions.","leader":{{(leaderUrl is null ? "null" : $$"""{"brokerId":"b","term":3,"url":"{{leaderUrl}}"}""")}}}""",
                Encoding.UTF8,
                "application/problem+json"),
        };

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            Seen.Add((request.Method.Method, uri.ToString(), request.Headers.Authorization?.ToString(), request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken)));
            if (Down.Contains(uri.Host))
            {
                throw new HttpRequestException("Connection refused (broker-b.test:5100)");
            }

            var follows = uri.Host == "broker-a.test" && (LeaderUrl is not null || followerRefuses);
            return follows ? Refusal(LeaderUrl) : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}") };
        }
    }
}
