using System.Net;
using System.Net.Http.Json;
using Attach.Broker.Kernels;
using Attach.Broker.Leadership;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Apis;
using Attach.Broker.Tests.Persistence;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Leadership;

/// <summary>
/// Two brokers on one real PostgreSQL schema, as two replicas of a deployment: one leads, the other refuses decisions
/// and takes over when the leader goes, with every lease the leader handed out.
/// </summary>
[RequiresPostgres]
public sealed class PostgresLeadershipTests : IDisposable
{
    private static readonly TimeSpan Takeover = TimeSpan.FromSeconds(30);
    private readonly PostgresTestStore _db = new();
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _db.Dispose();

    [StoreFact]
    public async Task SecondBroker_Follows_RefusingDecisionsWithAProblemThatNamesTheLeader()
    {
        await using var a = Broker("a");
        using var agentA = a.CreateClient(null);
        await using var b = Broker("b");
        using var agentB = b.CreateClient(null);

        using var heartbeat = await agentB.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", [Gpu(0, 80)]));
        var problem = await heartbeat.Content.ReadFromJsonAsync<ProblemDetails>();
        var leaderOfB = await agentB.GetFromJsonAsync<LeaderView>(LeadershipApi.Path);
        var leaderOfA = await agentA.GetFromJsonAsync<LeaderView>(LeadershipApi.Path);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, heartbeat.StatusCode);
        Assert.Equal("application/problem+json", heartbeat.Content.Headers.ContentType!.MediaType);
        Assert.Contains($"broker {Id("a")} leads (term 1, at http://{Id("a")}.brokers.test/)", problem!.Detail, StringComparison.Ordinal);
        Assert.Equal(("Follower", false, Id("a")), (leaderOfB!.Role, leaderOfB.Leading, leaderOfB.Leader!.BrokerId));
        Assert.Equal(("Leader", true, true, 1L), (leaderOfA!.Role, leaderOfA.Leading, leaderOfA.Elected, leaderOfA.Leader!.Term));
        Assert.Contains("attach_broker_leader 0", await agentB.GetStringAsync("/metrics"), StringComparison.Ordinal);
        Assert.Contains("attach_broker_leader 1", await agentA.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [StoreFact]
    public async Task Follower_StartingWhileTheLeaderBinds_LeavesTheLeadersStoreAlone()
    {
        await using var a = Broker("a");
        using var agentA = a.CreateClient(null);
        // A bind the leader has in flight: a broker that loaded its state now would mark it Releasing.
        var binding = Lease("node-a", Gpu(0, 80), 20 * GiB);
        binding.Status = LeaseStatus.Binding;
        _db.Open().AddLease(binding);

        await using var b = Broker("b");
        using var agentB = b.CreateClient(null);
        await agentB.GetFromJsonAsync<LeaderView>(LeadershipApi.Path);

        Assert.Equal(["Binding"], _db.Query($"SELECT status FROM leases WHERE lease_id = '{binding.LeaseId}'", r => r.GetString(0)));
    }

    [StoreFact]
    public async Task Leader_Killed_FollowerTakesOverWithEveryLeaseAndDoubleBooksNothing()
    {
        var a = Broker("a");
        using var agentA = a.CreateClient(null);
        await using var b = Broker("b");
        using var agentB = b.CreateClient(null);
        (await agentA.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", [Gpu(0, 80)]))).EnsureSuccessStatusCode();
        var granted = await RuntimeAttachAsync(agentA, "kernel-1", 80 * GiB);
        Assert.Equal(RuntimeAttachStatus.Granted, granted.Status);
        var lease = Assert.Single(a.Services.GetRequiredService<LeaseTable>().Snapshot());

        await a.DisposeAsync();
        await b.Services.GetRequiredService<BrokerLeadership>().Leading.WaitAsync(Takeover);
        // The agent still holds the slice and says so in its next heartbeat, now to the new leader.
        (await agentB.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", [Gpu(0, 80)], [BindingOf(lease)]))).EnsureSuccessStatusCode();
        var second = await RuntimeAttachAsync(agentB, "kernel-2", 80 * GiB);
        var kernel = await agentB.GetFromJsonAsync<KernelStatus>("/api/v1/kernels/kernel-1");
        var leader = await agentB.GetFromJsonAsync<LeaderView>(LeadershipApi.Path);

        var kept = Assert.Single(b.Services.GetRequiredService<LeaseTable>().Snapshot());
        Assert.Equal((lease.LeaseId, lease.Epoch, LeaseStatus.Bound), (kept.LeaseId, kept.Epoch, kept.Status));
        Assert.Equal(KernelState.Attached, kernel!.State);
        Assert.Equal(lease.LeaseId, kernel.Attachment!.LeaseId);
        Assert.Equal(RuntimeAttachStatus.Refused, second.Status);
        Assert.Null(second.Attachment);
        Assert.Equal((Id("b"), 2L, true), (leader!.Leader!.BrokerId, leader.Leader.Term, leader.Leading));
    }

    [StoreFact]
    public async Task Leader_LosingItsDatabaseSession_StopsDecidingAndTheFollowerTakesOver()
    {
        // The leader checks its session only every five minutes here: what stops it is its next write failing.
        await using var a = Broker("a", interval: "00:05:00");
        using var agentA = a.CreateClient(null);
        await using var b = Broker("b");
        using var agentB = b.CreateClient(null);
        (await agentA.PostAsJsonAsync("/api/v1/nodes/node-a/heartbeat", Heartbeat("node-a", [Gpu(0, 80)]))).EnsureSuccessStatusCode();

        // What a network cut or a server-side kill does to the leader's session (and so to its lock).
        Assert.Equal(
            [true],
            _db.Query($"SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = 'attach-broker-leader:{Id("a")}'", r => r.GetBoolean(0)));
        using var attach = await agentA.PostAsJsonAsync("/api/v1/kernels/kernel-1/runtime-attach", new RuntimeAttachRequest("node-a", 4242, 0, 0, 20 * GiB, Wait: false));
        await b.Services.GetRequiredService<BrokerLeadership>().Leading.WaitAsync(Takeover);
        using var after = await agentA.PostAsJsonAsync("/api/v1/kernels/kernel-2/runtime-attach", new RuntimeAttachRequest("node-a", 4243, 0, 0, 20 * GiB, Wait: false));
        var problem = await after.Content.ReadFromJsonAsync<ProblemDetails>();

        Assert.False(attach.IsSuccessStatusCode && (await attach.Content.ReadFromJsonAsync<RuntimeAttachDecision>())!.Status == RuntimeAttachStatus.Granted);
        Assert.Equal(LeadershipRole.Deposed, a.Services.GetRequiredService<BrokerLeadership>().Role);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, after.StatusCode);
        Assert.Equal("Broker no longer leads", problem!.Title);
        Assert.Empty(_db.Query("SELECT lease_id FROM leases", r => r.GetString(0)));
    }

    [StoreFact]
    public async Task Leader_LosingItsDatabaseSession_StopsItsProcessByDefault()
    {
        await using var a = Broker("a", interval: "00:00:00.100", stopWhenDeposed: true);
        using var agentA = a.CreateClient(null);
        var lifetime = a.Services.GetRequiredService<IHostApplicationLifetime>();
        var leadership = a.Services.GetRequiredService<BrokerLeadership>();
        var stopping = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStopping.Register(stopping.SetResult);

        _db.Query($"SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = 'attach-broker-leader:{Id("a")}'", r => r.GetBoolean(0));
        await stopping.Task.WaitAsync(Takeover);

        Assert.Equal(LeadershipRole.Deposed, leadership.Role);
    }

    private static async Task<RuntimeAttachDecision> RuntimeAttachAsync(HttpClient agent, string kernelId, long memoryMiB)
    {
        using var response = await agent.PostAsJsonAsync($"/api/v1/kernels/{kernelId}/runtime-attach", new RuntimeAttachRequest("node-a", 4242, 0, 0, memoryMiB, Wait: false));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<RuntimeAttachDecision>())!;
    }

    private static BindingInfo BindingOf(Lease lease) =>
        new(lease.LeaseId, lease.Epoch, lease.KernelId, lease.Gpu, lease.MemoryMiB, lease.ComputePercent, new Dictionary<string, string>(), lease.Since, lease.Owner);

    private string Id(string name) => $"{name}-{_run}";

    private BrokerApp Broker(string name, string interval = "00:00:00.100", bool stopWhenDeposed = false) => new()
    {
        RealScheduler = true,
        Settings =
        [
            .. _db.Settings,
            ("Broker:Leadership:BrokerId", Id(name)),
            ("Broker:Leadership:AdvertisedUrl", $"http://{Id(name)}.brokers.test/"),
            ("Broker:Leadership:Interval", interval),
            ("Broker:Leadership:StopWhenDeposed", stopWhenDeposed ? "true" : "false"),
        ],
    };
}
