using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Attach.Agent.Containers;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Docker.DotNet.Models;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Attach.Agent.Tests.Containers;

/// <summary>Containers for leases against the real Docker engine (no GPU device requests: the pool is simulated).</summary>
public sealed class ContainersDockerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [DockerFact]
    public async Task Run_BoundLease_StartsContainerWithBindingEnvironmentAndLeaseLabels()
    {
        await using var agent = new ContainerTestAgent();
        await DockerEngine.EnsureReadyAsync(agent.Docker);
        var binding = await agent.BindAsync("lease-env", epoch: 3, kernelId: "kernel-7");

        var container = await agent.RunOkAsync(new ContainerRunRequest("lease-env", DockerEngine.TestImage, ["sleep", "60"],
            Env: new Dictionary<string, string> { ["JOB"] = "nightly" }));

        var inspected = await agent.Docker.Containers.InspectContainerAsync(container.Id);
        Assert.True(inspected.State.Running);
        Assert.Equal("lease-env", inspected.Config.Labels["io.attach.lease"]);
        Assert.Equal("3", inspected.Config.Labels["io.attach.epoch"]);
        Assert.Equal("kernel-7", inspected.Config.Labels["io.attach.kernel"]);
        Assert.Equal(agent.NodeId, inspected.Config.Labels["io.attach.node"]);
        Assert.Equal("true", inspected.Config.Labels["io.attach.gpu.simulated"]);
        Assert.Contains($"CUDA_VISIBLE_DEVICES={binding.Gpu.Uuid}", inspected.Config.Env);
        Assert.Contains("CUDA_DEVICE_MEMORY_LIMIT=20480m", inspected.Config.Env);
        Assert.Contains("CUDA_DEVICE_SM_LIMIT=25", inspected.Config.Env);
        Assert.Contains("ATTACH_LEASE_ID=lease-env", inspected.Config.Env);
        Assert.Contains("JOB=nightly", inspected.Config.Env);
        Assert.True(inspected.HostConfig.DeviceRequests is null or { Count: 0 }, "a simulated GPU gets no device request");
        Assert.Equal("running", container.State);
        Assert.True(container.GpuSimulated);
        Assert.Equal(3, container.Epoch);
        Assert.StartsWith("attach-lease-env-", container.Name, StringComparison.Ordinal);
    }

    [DockerFact]
    public async Task Run_WithMemoryAndCpus_EngineEnforcesTheLimits()
    {
        await using var agent = new ContainerTestAgent();
        await DockerEngine.EnsureReadyAsync(agent.Docker);
        await agent.BindAsync("lease-limits");

        // The container reads its own memory limit from its cgroup (v2: memory.max, v1: memory.limit_in_bytes).
        var container = await agent.RunOkAsync(new ContainerRunRequest("lease-limits", DockerEngine.TestImage,
            ["sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"],
            MemoryMiB: 64, Cpus: 0.5));
        await agent.Docker.Containers.WaitContainerAsync(container.Id);

        var inspected = await agent.Docker.Containers.InspectContainerAsync(container.Id);
        Assert.Equal(64L * 1024 * 1024, inspected.HostConfig.Memory);
        Assert.Equal(500_000_000L, inspected.HostConfig.NanoCPUs);
        var logs = await agent.Api.GetStringAsync($"/api/v1/containers/{container.Id}/logs");
        Assert.Equal((64L * 1024 * 1024).ToString(CultureInfo.InvariantCulture), logs.Trim());
    }

    [DockerFact]
    public async Task Logs_ExitedContainer_ReturnsStdoutAndStderrAsText()
    {
        await using var agent = new ContainerTestAgent();
        await DockerEngine.EnsureReadyAsync(agent.Docker);
        await agent.BindAsync("lease-logs");
        var container = await agent.RunOkAsync(new ContainerRunRequest("lease-logs", DockerEngine.TestImage,
            ["sh", "-c", "echo to-stdout $ATTACH_LEASE_ID; echo to-stderr >&2"]));
        await agent.Docker.Containers.WaitContainerAsync(container.Id);

        using var response = await agent.Api.GetAsync($"/api/v1/containers/{container.Id}/logs");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("to-stdout lease-logs\n", text, StringComparison.Ordinal);
        Assert.Contains("to-stderr\n", text, StringComparison.Ordinal);
    }

    [DockerFact]
    public async Task Logs_Follow_StreamsOutputWhileTheContainerRunsAndEndsWhenItExits()
    {
        await using var agent = new ContainerTestAgent();
        await DockerEngine.EnsureReadyAsync(agent.Docker);
        await agent.BindAsync("lease-follow");
        // The second line comes only once the test has seen the first one through the stream (it creates /tmp/go).
        var container = await agent.RunOkAsync(new ContainerRunRequest("lease-follow", DockerEngine.TestImage,
            ["sh", "-c", "echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo second"]));

        using var timeout = new CancellationTokenSource(Patience);
        using var response = await agent.Api.GetAsync($"/api/v1/containers/{container.Id}/logs?follow=true", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        Assert.Equal("first", await reader.ReadLineAsync(timeout.Token));
        Assert.True((await agent.Docker.Containers.InspectContainerAsync(container.Id, timeout.Token)).State.Running);
        await ExecAsync(agent, container.Id, ["sh", "-c", ": > /tmp/go"], timeout.Token);
        Assert.Equal("second", await reader.ReadLineAsync(timeout.Token));
        Assert.Null(await reader.ReadLineAsync(timeout.Token));
    }

    [DockerFact]
    public async Task StopThenDelete_RunningContainer_StopsItThenRemovesIt()
    {
        await using var agent = new ContainerTestAgent();
        await DockerEngine.EnsureReadyAsync(agent.Docker);
        await agent.BindAsync("lease-stop");
        var container = await agent.RunOkAsync(new ContainerRunRequest("lease-stop", DockerEngine.TestImage, ["sleep", "600"]));

        using var stop = await agent.Api.PostAsync($"/api/v1/containers/{container.Id}/stop", content: null);
        var stopped = await stop.Content.ReadFromJsonAsync<ContainerInfo>();
        var listedAfterStop = await agent.Api.GetFromJsonAsync<ContainerInfo[]>("/api/v1/containers");
        using var delete = await agent.Api.DeleteAsync($"/api/v1/containers/{container.Id}");
        using var deleteAgain = await agent.Api.DeleteAsync($"/api/v1/containers/{container.Id}");

        Assert.Equal(HttpStatusCode.OK, stop.StatusCode);
        Assert.Equal("exited", stopped!.State);
        Assert.False((await agent.InspectOrNullAsync(container.Id) is { } gone) && gone.State.Running, "stopped");
        Assert.Equal(container.Id, Assert.Single(listedAfterStop!).Id);
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Null(await agent.InspectOrNullAsync(container.Id));
        Assert.Empty((await agent.Api.GetFromJsonAsync<ContainerInfo[]>("/api/v1/containers"))!);
        Assert.Equal(HttpStatusCode.NotFound, deleteAgain.StatusCode);
    }

    [DockerFact]
    public async Task Delete_RunningContainer_KillsAndRemovesIt()
    {
        await using var agent = new ContainerTestAgent();
        await DockerEngine.EnsureReadyAsync(agent.Docker);
        await agent.BindAsync("lease-rm");
        var container = await agent.RunOkAsync(new ContainerRunRequest("lease-rm", DockerEngine.TestImage, ["sleep", "600"]));

        using var delete = await agent.Api.DeleteAsync($"/api/v1/containers/{container.Id}");

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Null(await agent.InspectOrNullAsync(container.Id));
    }

    [DockerFact]
    public async Task AnyOperation_ContainerTheAgentDidNotMake_Returns404AndLeavesItAlone()
    {
        await using var agent = new ContainerTestAgent();
        await DockerEngine.EnsureReadyAsync(agent.Docker);
        var foreign = await agent.Docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = DockerEngine.TestImage,
            Cmd = ["true"],
            Labels = new Dictionary<string, string> { ["io.attach.node"] = agent.NodeId + "-other" },
        });
        try
        {
            using var delete = await agent.Api.DeleteAsync($"/api/v1/containers/{foreign.ID}");
            using var logs = await agent.Api.GetAsync($"/api/v1/containers/{foreign.ID}/logs");
            using var missing = await agent.Api.PostAsync("/api/v1/containers/no-such-container/stop", content: null);

            Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, logs.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.NotNull(await agent.InspectOrNullAsync(foreign.ID));
            Assert.Empty((await agent.Api.GetFromJsonAsync<ContainerInfo[]>("/api/v1/containers"))!);
        }
        finally
        {
            await agent.Docker.Containers.RemoveContainerAsync(foreign.ID, new ContainerRemoveParameters { Force = true });
        }
    }

    [DockerFact]
    public async Task Run_ImageNotOnTheNode_Returns400SayingTheAgentDoesNotPull()
    {
        await using var agent = new ContainerTestAgent();
        await DockerEngine.EnsureReadyAsync(agent.Docker);
        await agent.BindAsync("lease-image");

        using var response = await agent.RunAsync(new ContainerRunRequest("lease-image", "attach-test/no-such-image:0", ["true"]));

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        var problem = await response.Content.ReadFromJsonAsync<ValidationProblemDetails>();
        Assert.Contains("does not pull", problem!.Errors["image"][0], StringComparison.Ordinal);
        Assert.Empty((await agent.Api.GetFromJsonAsync<ContainerInfo[]>("/api/v1/containers"))!);
    }

    [DockerFact]
    public async Task RemoveOrphans_AfterRestartWithLedgerLackingALease_RemovesOnlyThatLeasesContainer()
    {
        string orphanId;
        string keptId;
        var nodeId = $"containers-test-{Guid.NewGuid().ToString("N")[..10]}";
        await using (var before = new ContainerTestAgent(nodeId))
        {
            await DockerEngine.EnsureReadyAsync(before.Docker);
            await before.BindAsync("lease-gone");
            await before.BindAsync("lease-kept", kernelId: "kernel-8");
            orphanId = (await before.RunOkAsync(new ContainerRunRequest("lease-gone", DockerEngine.TestImage, ["sleep", "600"]))).Id;
            keptId = (await before.RunOkAsync(new ContainerRunRequest("lease-kept", DockerEngine.TestImage, ["sleep", "600"]))).Id;

            // The restarted agent: same node, its ledger holds only lease-kept.
            var logger = new RecordingLogger<ContainerRunner>();
            await using var after = new ContainerTestAgent(nodeId,
                new Dictionary<string, string?> { ["Agent:Containers:RemoveOrphansOnStart"] = "false" },
                services => services.AddSingleton<ILogger<ContainerRunner>>(logger));
            await after.BindAsync("lease-kept", kernelId: "kernel-8");

            var removed = await after.Runner.RemoveOrphansAsync(CancellationToken.None);

            Assert.True(removed.Succeeded, removed.Failure?.Detail);
            Assert.Equal(orphanId, Assert.Single(removed.Value).Id);
            Assert.Null(await after.InspectOrNullAsync(orphanId));
            Assert.True((await after.Docker.Containers.InspectContainerAsync(keptId)).State.Running);
            var logged = Assert.Single(logger.Entries, entry => entry.EventId.Id == 707);
            Assert.Contains(orphanId, logged.Message, StringComparison.Ordinal);
            Assert.Contains("lease-gone", logged.Message, StringComparison.Ordinal);
        }
    }

    [DockerFact]
    public async Task AgentStart_ContainerOfThisNodeWithoutLease_IsRemovedInTheBackground()
    {
        var nodeId = $"containers-test-{Guid.NewGuid().ToString("N")[..10]}";
        await using var before = new ContainerTestAgent(nodeId);
        await DockerEngine.EnsureReadyAsync(before.Docker);
        await before.BindAsync("lease-before-restart");
        var orphan = await before.RunOkAsync(new ContainerRunRequest("lease-before-restart", DockerEngine.TestImage, ["sleep", "600"]));

        // A new agent on the node with an empty ledger of its own; starting it runs the cleanup.
        var logger = new RecordingLogger<ContainerRunner>();
        await using var after = new ContainerTestAgent(nodeId, configureServices: services => services.AddSingleton<ILogger<ContainerRunner>>(logger));

        await Eventually(() => logger.Entries.Any(entry => entry.EventId.Id == 709), "the orphan cleanup to finish");
        Assert.Contains(logger.Entries, entry => entry.EventId.Id == 707 && entry.Message.Contains(orphan.Id, StringComparison.Ordinal));
        Assert.Null(await after.InspectOrNullAsync(orphan.Id));
    }

    private static async Task ExecAsync(ContainerTestAgent agent, string id, IList<string> command, CancellationToken cancellationToken)
    {
        var exec = await agent.Docker.Exec.ExecCreateContainerAsync(id, new ContainerExecCreateParameters { Cmd = command }, cancellationToken);
        await agent.Docker.Exec.StartContainerExecAsync(exec.ID, cancellationToken);
    }

    /// <summary>Waits for something the agent does in the background, polling (never a fixed sleep) within <see cref="Patience"/>.</summary>
    private static async Task Eventually(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition())
        {
            Assert.False(timeout.IsCancellationRequested, $"Timed out after {Patience} waiting for {what}.");
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, CancellationToken.None);
        }
    }
}
