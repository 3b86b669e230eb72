using System.Net.Sockets;
using System.Runtime.Versioning;
using Attach.Agent.Shim;
using Attach.Agent.Slices;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Kernels;
using Microsoft.Extensions.Logging;

namespace Attach.Agent.Tests.Shim;

// Unix sockets, SO_PEERCRED and file modes: the shim socket exists on Linux only.
[SupportedOSPlatform("linux")]
public sealed class ShimSocketServerTests
{
    [Fact]
    public async Task Hello_ValidSession_WelcomesWithVersionNodeAndPeerPid()
    {
        await using var harness = await ShimHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        await client.SendAsync(ShimMessageType.Hello, ("version", "1"), ("session", "kernel-7f3a"), ("pid", "1"));
        var welcome = await client.ExpectAsync(ShimMessageType.Welcome);

        Assert.Equal("1", welcome["version"]);
        Assert.Equal(ShimHarness.NodeId, welcome["node"]);
        Assert.Equal(Environment.ProcessId.ToString(), welcome["pid"]);
        Assert.Equal("65536", welcome["max_body"]);
    }

    [Fact]
    public async Task RequestLease_Granted_SendsSliceAndEnvironmentFromTheLedger()
    {
        await using var harness = await ShimHarness.StartAsync();
        await using var client = await harness.HelloAsync("kernel-1");

        await client.SendAsync(ShimMessageType.RequestLease, ("memory_mib", "20480"), ("wait", "1"));
        var granted = await client.ExpectAsync(ShimMessageType.Granted);

        var binding = Assert.Single(harness.Ledger.Snapshot());
        Assert.Equal(binding.LeaseId, granted["lease_id"]);
        Assert.Equal(binding.Gpu.Index.ToString(), granted["gpu_index"]);
        Assert.Equal(binding.Gpu.Uuid, granted["gpu_uuid"]);
        Assert.Equal("A100 80GB (simulated)", granted["gpu_name"]);
        Assert.Equal("1", granted["simulated"]);
        Assert.Equal("20480", granted["memory_mib"]);
        Assert.Equal("10", granted["compute_percent"]);
        Assert.Equal("1250", granted["waited_ms"]);
        Assert.Equal(binding.Gpu.Uuid, granted["env.CUDA_VISIBLE_DEVICES"]);
        Assert.Equal("20480m", granted["env.CUDA_DEVICE_MEMORY_LIMIT"]);
        Assert.Equal("10", granted["env.CUDA_DEVICE_SM_LIMIT"]);
        Assert.Equal(binding.LeaseId, granted["env.ATTACH_LEASE_ID"]);
        var request = Assert.Single(harness.Broker.Requests);
        Assert.Equal("kernel-1", request.Session);
        Assert.Equal(20480, request.MemoryMiB);
        Assert.True(request.Wait);
    }

    [Theory]
    [InlineData("batch", AttachPriority.Batch)]
    [InlineData("interactive", AttachPriority.Interactive)]
    [InlineData(null, AttachPriority.Interactive)]
    public async Task RequestLease_Priority_ReachesTheBroker(string? field, AttachPriority expected)
    {
        await using var harness = await ShimHarness.StartAsync();
        await using var client = await harness.HelloAsync("run-1");

        await (field is null ? client.SendAsync(ShimMessageType.RequestLease) : client.SendAsync(ShimMessageType.RequestLease, ("priority", field)));
        await client.ExpectAsync(ShimMessageType.Granted);

        Assert.Equal(expected, Assert.Single(harness.Broker.Requests).Priority);
    }

    [Fact]
    public async Task RequestLease_UnknownPriority_IsABadBodyAndAsksNothing()
    {
        await using var harness = await ShimHarness.StartAsync();
        await using var client = await harness.HelloAsync("run-1");

        await client.SendAsync(ShimMessageType.RequestLease, ("priority", "urgent"));
        var error = await client.ExpectAsync(ShimMessageType.Error);

        Assert.Equal(ShimErrorCodes.BadBody, error["code"]);
        Assert.Contains("interactive or batch", error["message"], StringComparison.Ordinal);
        Assert.Empty(harness.Broker.Requests);
    }

    [Fact]
    public async Task RequestLease_Queued_StreamsPositionsThenGrant()
    {
        await using var harness = await ShimHarness.StartAsync();
        var proceed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.Broker.Decide = async (request, onQueued, cancellationToken) =>
        {
            await onQueued(new ShimQueuePosition(2, TimeSpan.FromSeconds(39.2)), cancellationToken);
            await onQueued(new ShimQueuePosition(1, null), cancellationToken);
            await proceed.Task.WaitAsync(cancellationToken);
            return harness.Broker.Grant(request);
        };
        await using var client = await harness.HelloAsync();

        await client.SendAsync(ShimMessageType.RequestLease);
        var first = await client.ExpectAsync(ShimMessageType.Queued);
        var second = await client.ExpectAsync(ShimMessageType.Queued);
        proceed.SetResult();
        var granted = await client.ExpectAsync(ShimMessageType.Granted);

        Assert.Equal("2", first["position"]);
        Assert.Equal("40", first["eta_seconds"]);
        Assert.Equal("1", second["position"]);
        Assert.Null(second["eta_seconds"]);
        Assert.Equal("2048", granted["memory_mib"]);
    }

    [Fact]
    public async Task Release_HeldLease_ReleasesAtBrokerAndAnswersReleased()
    {
        await using var harness = await ShimHarness.StartAsync();
        await using var client = await harness.HelloAsync("session-r");
        await client.SendAsync(ShimMessageType.RequestLease);
        var leaseId = (await client.ExpectAsync(ShimMessageType.Granted))["lease_id"];

        await client.SendAsync(ShimMessageType.Release);
        var released = await client.ExpectAsync(ShimMessageType.Released);

        Assert.Equal(leaseId, released["lease_id"]);
        var release = await harness.Broker.NextReleaseAsync();
        Assert.Equal(leaseId, release.LeaseId);
        Assert.Equal("session-r", release.Session);
        Assert.Empty(harness.Ledger.Snapshot());

        // Nothing held: release is idempotent, and the connection can ask again.
        await client.SendAsync(ShimMessageType.Release);
        Assert.Null((await client.ExpectAsync(ShimMessageType.Released))["lease_id"]);
        await client.SendAsync(ShimMessageType.RequestLease);
        Assert.NotEqual(leaseId, (await client.ExpectAsync(ShimMessageType.Granted))["lease_id"]);
    }

    [Fact]
    public async Task Close_HeldLease_ReleasesWithPeerPid()
    {
        await using var harness = await ShimHarness.StartAsync();
        var client = await harness.HelloAsync("session-c");
        await client.SendAsync(ShimMessageType.RequestLease);
        var leaseId = (await client.ExpectAsync(ShimMessageType.Granted))["lease_id"];

        await client.DisposeAsync();
        var release = await harness.Broker.NextReleaseAsync();

        Assert.Equal(leaseId, release.LeaseId);
        Assert.Equal(Environment.ProcessId, release.Peer.Pid);
        Assert.Contains($"process {Environment.ProcessId}", release.Reason);
        Assert.Empty(harness.Broker.Outstanding);
    }

    [Fact]
    public async Task Bye_HeldLease_ReleasesAndCloses()
    {
        await using var harness = await ShimHarness.StartAsync();
        await using var client = await harness.HelloAsync();
        await client.SendAsync(ShimMessageType.RequestLease);
        await client.ExpectAsync(ShimMessageType.Granted);

        await client.SendAsync(ShimMessageType.Bye);

        Assert.Empty(await client.ReadUntilClosedAsync());
        Assert.Contains("bye", (await harness.Broker.NextReleaseAsync()).Reason);
    }

    [Fact]
    public async Task Close_WhileQueued_AbandonsTheBrokerRequest()
    {
        await using var harness = await ShimHarness.StartAsync();
        var abandoned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.Broker.Decide = async (request, onQueued, cancellationToken) =>
        {
            await onQueued(new ShimQueuePosition(3, null), cancellationToken);
            using var registration = cancellationToken.Register(() => abandoned.TrySetResult());
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        };
        var client = await harness.HelloAsync();
        await client.SendAsync(ShimMessageType.RequestLease);
        await client.ExpectAsync(ShimMessageType.Queued);

        await client.DisposeAsync();

        await abandoned.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(harness.Broker.Outstanding);
    }

    [Fact]
    public async Task ProtocolError_WhileQueued_ErrorIsTheLastFrameAndTheRequestIsAbandoned()
    {
        await using var harness = await ShimHarness.StartAsync();
        var abandoned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.Broker.Decide = async (request, onQueued, cancellationToken) =>
        {
            using var registration = cancellationToken.Register(() => abandoned.TrySetResult());
            // Updates keep coming while the bad frame arrives; none may follow the error.
            for (var position = 200; position > 0; position--)
            {
                await onQueued(new ShimQueuePosition(position, null), cancellationToken);
                await Task.Yield();
            }

            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        };
        await using var client = await harness.HelloAsync();
        await client.SendAsync(ShimMessageType.RequestLease);
        await client.ExpectAsync(ShimMessageType.Queued);

        await client.SendRawAsync(new byte[] { 0, 0, 0, 0, 0x7f });
        var replies = await client.ReadUntilClosedAsync();

        Assert.Equal(ShimErrorCodes.UnknownType, replies[^1]["code"]);
        Assert.All(replies.SkipLast(1), reply => Assert.Equal(ShimMessageType.Queued, reply.Type));
        await abandoned.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Release_WhileQueued_AbandonsRequestAndAnswersReleasedWithoutLease()
    {
        await using var harness = await ShimHarness.StartAsync();
        harness.Broker.Decide = async (request, onQueued, cancellationToken) =>
        {
            await onQueued(new ShimQueuePosition(1, null), cancellationToken);
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        };
        await using var client = await harness.HelloAsync();
        await client.SendAsync(ShimMessageType.RequestLease);
        await client.ExpectAsync(ShimMessageType.Queued);

        await client.SendAsync(ShimMessageType.Release);

        Assert.Null((await client.ExpectAsync(ShimMessageType.Released))["lease_id"]);
    }

    [Fact]
    public async Task RequestLease_BrokerRefuses_ErrorIsNotFatalAndNextRequestWorks()
    {
        await using var harness = await ShimHarness.StartAsync();
        var refuse = true;
        harness.Broker.Decide = (request, _, _) => Task.FromResult(refuse
            ? ShimLeaseDecision.Refuse(ShimErrorCodes.BrokerUnreachable, "The agent could not reach the broker.")
            : harness.Broker.Grant(request));
        await using var client = await harness.HelloAsync();

        await client.SendAsync(ShimMessageType.RequestLease, ("wait", "0"));
        var error = await client.ExpectAsync(ShimMessageType.Error);
        refuse = false;
        await client.SendAsync(ShimMessageType.RequestLease);

        Assert.Equal(ShimErrorCodes.BrokerUnreachable, error["code"]);
        Assert.Equal("0", error["fatal"]);
        Assert.False(harness.Broker.Requests[0].Wait);
        await client.ExpectAsync(ShimMessageType.Granted);
    }

    [Fact]
    public async Task RequestLease_GrantedOnAnotherNode_WrongNodeAndGivenBack()
    {
        await using var harness = await ShimHarness.StartAsync();
        harness.Broker.Decide = (request, _, _) => Task.FromResult(ShimLeaseDecision.Grant(
            new Contracts.Kernels.AttachmentInfo("lease-elsewhere", "node-other", 0, "GPU-x", "A100", false, 1024, 81920, 0), newlyAttached: true));
        await using var client = await harness.HelloAsync();

        await client.SendAsync(ShimMessageType.RequestLease);
        var error = await client.ExpectAsync(ShimMessageType.Error);

        Assert.Equal(ShimErrorCodes.WrongNode, error["code"]);
        Assert.Contains("node-other", error["message"]);
        Assert.Equal("lease-elsewhere", (await harness.Broker.NextReleaseAsync()).LeaseId);
    }

    [Fact]
    public async Task SameSession_TwoProcesses_ShareOneLeaseReleasedByTheLast()
    {
        await using var harness = await ShimHarness.StartAsync();
        var first = await harness.HelloAsync("shared");
        var second = await harness.HelloAsync("shared");
        await first.SendAsync(ShimMessageType.RequestLease);
        var leaseId = (await first.ExpectAsync(ShimMessageType.Granted))["lease_id"];
        await second.SendAsync(ShimMessageType.RequestLease);
        var joined = await second.ExpectAsync(ShimMessageType.Granted);

        Assert.Equal(leaseId, joined["lease_id"]);
        Assert.Single(harness.Broker.Requests);
        Assert.Equal(2, harness.Leases.HoldersOf(leaseId!).Count);

        await first.DisposeAsync();
        await second.SendAsync(ShimMessageType.Release);
        await second.ExpectAsync(ShimMessageType.Released);
        var release = await harness.Broker.NextReleaseAsync();

        Assert.Equal(leaseId, release.LeaseId);
        Assert.False(harness.Broker.TryTakeRelease(out _));
        await second.DisposeAsync();
    }

    [Fact]
    public async Task LeaseHeldBeforeTheShimAsked_LastHolderLeaves_LeaseIsLeftToTheBroker()
    {
        await using var harness = await ShimHarness.StartAsync();
        harness.Broker.Decide = (request, _, _) => Task.FromResult(harness.Broker.Grant(request, newlyAttached: false));
        await using var client = await harness.HelloAsync("kernel-attached-by-gateway");
        await client.SendAsync(ShimMessageType.RequestLease);
        await client.ExpectAsync(ShimMessageType.Granted);

        await client.SendAsync(ShimMessageType.Release);
        await client.ExpectAsync(ShimMessageType.Released);

        Assert.False(harness.Broker.TryTakeRelease(out _));
        Assert.Contains(harness.LeaseLog.Entries, entry => entry.EventId.Id == 626);
    }

    [Fact]
    public async Task Revoke_HeldLease_TellsEveryHolderAndKeepsTheConnection()
    {
        await using var harness = await ShimHarness.StartAsync();
        await using var client = await harness.HelloAsync();
        await client.SendAsync(ShimMessageType.RequestLease);
        var leaseId = (await client.ExpectAsync(ShimMessageType.Granted))["lease_id"]!;

        var holders = await harness.Leases.RevokeAsync(leaseId, "idle for 5 minutes");
        var revoke = await client.ExpectAsync(ShimMessageType.Revoke);

        Assert.Equal(1, holders);
        Assert.Equal(leaseId, revoke["lease_id"]);
        Assert.Equal("idle for 5 minutes", revoke["reason"]);
        await client.SendAsync(ShimMessageType.Release);
        Assert.Null((await client.ExpectAsync(ShimMessageType.Released))["lease_id"]);
        Assert.False(harness.Broker.TryTakeRelease(out _));
    }

    [Fact]
    public async Task PeerCredentials_ComeFromTheKernelNotTheMessage()
    {
        await using var harness = await ShimHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await client.SendAsync(ShimMessageType.Hello, ("version", "1"), ("session", "s"), ("pid", "4242"), ("uid", "0"));
        await client.ExpectAsync(ShimMessageType.Welcome);

        await client.SendAsync(ShimMessageType.RequestLease);
        await client.ExpectAsync(ShimMessageType.Granted);

        var peer = Assert.Single(harness.Broker.Requests).Peer;
        Assert.Equal(Environment.ProcessId, peer.Pid);
        Assert.Equal(OwnId("Uid"), peer.Uid);
        Assert.Equal(OwnId("Gid"), peer.Gid);
    }

    [Fact]
    public async Task Start_SocketFileIsMode0660InACreatedDirectory()
    {
        await using var harness = await ShimHarness.StartAsync();

        Assert.True(Directory.Exists(Path.GetDirectoryName(harness.SocketPath)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(harness.SocketPath));
        Assert.Contains(harness.ServerLog.Entries, entry => entry.EventId.Id == 600 && entry.Message.Contains(harness.SocketPath));
    }

    [Fact]
    public async Task Start_StaleSocketFromEarlierRun_IsRemovedAndReplaced()
    {
        var directory = Directory.CreateTempSubdirectory("ash");
        try
        {
            var path = Path.Combine(directory.FullName, "agent.sock");
            using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
            {
                stale.Bind(new UnixDomainSocketEndPoint(path));
            }

            // Dispose unlinks it; a crashed agent leaves the file behind. An empty file stands in for it.
            File.WriteAllBytes(path, []);
            await using var harness = await ShimHarness.StartAsync(new ShimOptions { SocketPath = path });
            await using var client = await harness.HelloAsync();

            Assert.Contains(harness.ServerLog.Entries, entry => entry.EventId.Id == 603);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Start_SocketServedByAnotherAgent_FailsWithReason()
    {
        await using var first = await ShimHarness.StartAsync();

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ShimHarness.StartAsync(new ShimOptions { SocketPath = first.SocketPath }));

        Assert.Contains("already serves", exception.Message);
        await using var client = await first.HelloAsync();
    }

    [Fact]
    public async Task Start_PathIsARegularFileWithContent_IsNotDeleted()
    {
        var directory = Directory.CreateTempSubdirectory("ash");
        try
        {
            var path = Path.Combine(directory.FullName, "agent.sock");
            await File.WriteAllTextAsync(path, "not a socket");

            var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => ShimHarness.StartAsync(new ShimOptions { SocketPath = path }));

            Assert.Contains("not a socket", exception.Message);
            Assert.Equal("not a socket", await File.ReadAllTextAsync(path));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Stop_RemovesSocketAndReleasesHeldLeases()
    {
        var harness = await ShimHarness.StartAsync();
        await using var client = await harness.HelloAsync();
        await client.SendAsync(ShimMessageType.RequestLease);
        var leaseId = (await client.ExpectAsync(ShimMessageType.Granted))["lease_id"];

        await harness.Server.StopAsync(CancellationToken.None);

        var error = await client.ExpectAsync(ShimMessageType.Error);
        Assert.Equal(ShimErrorCodes.ShuttingDown, error["code"]);
        Assert.Equal(leaseId, (await harness.Broker.NextReleaseAsync()).LeaseId);
        Assert.False(File.Exists(harness.SocketPath));
        await harness.DisposeAsync();
    }

    [Fact]
    public async Task ThirtyTwoConcurrentClients_EachGetsItsOwnLeaseAndReleasesIt()
    {
        const int Clients = 32;
        await using var harness = await ShimHarness.StartAsync();
        var clients = await Task.WhenAll(Enumerable.Range(0, Clients).Select(i => harness.HelloAsync($"session-{i}")));

        var grants = await Task.WhenAll(clients.Select(async client =>
        {
            await client.SendAsync(ShimMessageType.RequestLease, ("memory_mib", "4096"));
            return await client.ExpectAsync(ShimMessageType.Granted);
        }));

        Assert.Equal(Clients, grants.Select(grant => grant["lease_id"]).Distinct().Count());
        Assert.Equal(Clients, harness.Ledger.Snapshot().Count);
        Assert.Equal(Clients, harness.Server.ActiveConnections);

        await Task.WhenAll(clients.Select(client => client.DisposeAsync().AsTask()));
        var releases = new List<string>();
        for (var i = 0; i < Clients; i++)
        {
            releases.Add((await harness.Broker.NextReleaseAsync()).LeaseId);
        }

        Assert.Equal(grants.Select(grant => grant["lease_id"]).Order(), releases.Order());
        Assert.Empty(harness.Ledger.Snapshot());
        await harness.WaitForNoConnectionsAsync();
    }

    [Fact]
    public async Task MaxConnections_OneMore_IsAnsweredBusyAndOthersGoOn()
    {
        await using var harness = await ShimHarness.StartAsync(new ShimOptions { MaxConnections = 2 });
        await using var first = await harness.HelloAsync("a");
        await using var second = await harness.HelloAsync("b");

        await using var third = await harness.ConnectAsync();
        var busy = await third.ExpectAsync(ShimMessageType.Error);

        Assert.Equal(ShimErrorCodes.Busy, busy["code"]);
        Assert.Empty(await third.ReadUntilClosedAsync());
        await first.SendAsync(ShimMessageType.RequestLease);
        await first.ExpectAsync(ShimMessageType.Granted);
        Assert.Contains(harness.ServerLog.Entries, entry => entry.EventId.Id == 605);
    }

    [Fact]
    public async Task NoHello_WithinHelloTimeout_TimeoutErrorAndClose()
    {
        var time = new TimerSignalingTimeProvider();
        var options = new ShimOptions { HelloTimeout = TimeSpan.FromSeconds(7), FrameTimeout = TimeSpan.FromSeconds(3) };
        await using var harness = await ShimHarness.StartAsync(options, time);
        await using var client = await harness.ConnectAsync();

        Assert.Equal(options.HelloTimeout, await time.NextTimerAsync());
        time.Advance(options.HelloTimeout);
        var error = await client.ExpectAsync(ShimMessageType.Error);

        Assert.Equal(ShimErrorCodes.Timeout, error["code"]);
        Assert.Contains("No hello", error["message"]);
        Assert.Empty(await client.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task Slowloris_FrameStartedButNotFinished_TimeoutErrorAndClose()
    {
        var time = new TimerSignalingTimeProvider();
        var options = new ShimOptions { HelloTimeout = TimeSpan.FromSeconds(7), FrameTimeout = TimeSpan.FromSeconds(3) };
        await using var harness = await ShimHarness.StartAsync(options, time);
        await using var client = await harness.ConnectAsync();
        Assert.Equal(options.HelloTimeout, await time.NextTimerAsync());

        // Two bytes of a header, then nothing: the frame timer starts at the first byte.
        await client.SendRawAsync(new byte[] { 0, 0 });
        Assert.Equal(options.FrameTimeout, await time.NextTimerAsync());
        time.Advance(options.FrameTimeout);
        var error = await client.ExpectAsync(ShimMessageType.Error);

        Assert.Equal(ShimErrorCodes.Timeout, error["code"]);
        Assert.Empty(await client.ReadUntilClosedAsync());
        var violation = Assert.Single(harness.ServerLog.Entries, entry => entry.EventId.Id == 606);
        Assert.Equal(LogLevel.Warning, violation.Level);
        Assert.Contains($"pid {Environment.ProcessId}", violation.Message);
    }

    [Fact]
    public async Task Slowloris_AfterHello_OnlyThatConnectionIsCut()
    {
        var time = new TimerSignalingTimeProvider();
        var options = new ShimOptions { HelloTimeout = TimeSpan.FromSeconds(7), FrameTimeout = TimeSpan.FromSeconds(3) };
        await using var harness = await ShimHarness.StartAsync(options, time);
        await using var slow = await harness.HelloAsync("slow");
        // Hello timer, hello frame timer, welcome send timer.
        for (var i = 0; i < 3; i++)
        {
            await time.NextTimerAsync();
        }

        await slow.SendRawAsync(new byte[] { 0, 0, 0 });
        Assert.Equal(options.FrameTimeout, await time.NextTimerAsync());
        time.Advance(options.FrameTimeout);

        Assert.Equal(ShimErrorCodes.Timeout, (await slow.ExpectAsync(ShimMessageType.Error))["code"]);
        await using var good = await harness.HelloAsync("good");
        await good.SendAsync(ShimMessageType.RequestLease);
        await good.ExpectAsync(ShimMessageType.Granted);
    }

    [Theory]
    [InlineData("2", ShimErrorCodes.UnsupportedVersion)]
    [InlineData("one", ShimErrorCodes.BadBody)]
    public async Task Hello_WrongVersion_FatalError(string version, string code)
    {
        await using var harness = await ShimHarness.StartAsync();
        await using var client = await harness.ConnectAsync();

        await client.SendAsync(ShimMessageType.Hello, ("version", version), ("session", "s"));
        var messages = await client.ReadUntilClosedAsync();

        var error = Assert.Single(messages);
        Assert.Equal(code, error["code"]);
        Assert.Equal("1", error["fatal"]);
    }

    [Fact]
    public async Task RequestLease_Twice_UnexpectedMessageClosesAndReleases()
    {
        await using var harness = await ShimHarness.StartAsync();
        await using var client = await harness.HelloAsync();
        await client.SendAsync(ShimMessageType.RequestLease);
        await client.ExpectAsync(ShimMessageType.Granted);

        await client.SendAsync(ShimMessageType.RequestLease);
        var error = await client.ExpectAsync(ShimMessageType.Error);

        Assert.Equal(ShimErrorCodes.UnexpectedMessage, error["code"]);
        Assert.Contains("holds a lease already", error["message"]);
        Assert.Empty(await client.ReadUntilClosedAsync());
        Assert.Contains("protocol error", (await harness.Broker.NextReleaseAsync()).Reason);
    }

    private static uint OwnId(string field)
    {
        // /proc/self/status: "Uid:\treal\teffective\tsaved\tfs"; SO_PEERCRED reports the effective ids.
        var line = File.ReadLines("/proc/self/status").First(candidate => candidate.StartsWith(field + ":", StringComparison.Ordinal));
        return uint.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2]);
    }
}
