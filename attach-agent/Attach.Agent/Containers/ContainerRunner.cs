using System.Globalization;
using System.Net;
using System.Text.Json;
using Attach.Agent.Slices;
using Attach.Contracts.Pool;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;

namespace Attach.Agent.Containers;

/// <summary>
/// Runs containers for leases bound on this node through the Docker engine, and finds, stops, removes and reads the
/// logs of those containers. It only ever touches containers labelled with this node (<see cref="ContainerLabels.Node"/>):
/// other containers on the host are invisible to it. Every engine call goes through <see cref="ContainerResilience"/>.
/// </summary>
internal sealed partial class ContainerRunner
{
    /// <summary>The smallest memory limit the engine accepts (6 MiB).</summary>
    public const long MinMemoryMiB = 6;

    /// <summary>The smallest CPU limit the engine accepts.</summary>
    public const double MinCpus = 0.01;

    private readonly IDockerClient _docker;
    private readonly SliceLedger _ledger;
    private readonly ContainerOptions _options;
    private readonly string _nodeId;
    private readonly ILogger<ContainerRunner> _logger;
    private readonly ResiliencePipeline _pipeline;

    public ContainerRunner(
        IDockerClient docker,
        SliceLedger ledger,
        IOptions<AgentOptions> agentOptions,
        IOptions<ContainerOptions> options,
        TimeProvider timeProvider,
        ILogger<ContainerRunner> logger)
    {
        ArgumentNullException.ThrowIfNull(agentOptions);
        ArgumentNullException.ThrowIfNull(options);
        _docker = docker;
        _ledger = ledger;
        _options = options.Value;
        _nodeId = agentOptions.Value.NodeId;
        _logger = logger;
        _pipeline = ContainerResilience.Build(timeProvider);
    }

    /// <summary>The engine's version, to tell whether containers can run at all.</summary>
    public async Task<ContainerResult<VersionResponse>> GetEngineVersionAsync(CancellationToken cancellationToken) =>
        Unavailable() is { } unavailable
            ? ContainerResult<VersionResponse>.Failed(unavailable)
            : await CallAsync(token => _docker.System.GetVersionAsync(token), "ask the engine for its version", cancellationToken);

    /// <summary>Creates and starts a container for a bound lease.</summary>
    public async Task<ContainerResult<ContainerInfo>> RunAsync(ContainerRunRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_options.Enabled)
        {
            return ContainerResult<ContainerInfo>.Failed(Disabled());
        }

        // The request and the lease first: what the caller must fix does not depend on the engine being up.
        var binding = string.IsNullOrWhiteSpace(request.LeaseId)
            ? null
            : _ledger.Snapshot().FirstOrDefault(candidate => string.Equals(candidate.LeaseId, request.LeaseId, StringComparison.Ordinal));
        var errors = Validate(request, binding);
        if (errors.Count > 0)
        {
            return ContainerResult<ContainerInfo>.Invalid(errors);
        }

        if (binding is null)
        {
            return ContainerResult<ContainerInfo>.Failed(ContainerFailureKind.LeaseNotFound,
                $"Lease '{request.LeaseId}' is not bound on node '{_nodeId}'; a container runs only under a bound lease. " +
                "Bind it first (POST /api/v1/bindings), or list the node's bindings with GET /api/v1/bindings.");
        }

        if (Unavailable() is { } unavailable)
        {
            return ContainerResult<ContainerInfo>.Failed(unavailable);
        }

        var name = ContainerSpec.NameFor(binding.LeaseId);
        var parameters = ContainerSpec.For(request, binding, _nodeId, name);
        var created = await CallAsync(token => CreateAsync(parameters, token), $"create a container from image '{request.Image}'", cancellationToken);
        if (!created.Succeeded)
        {
            return created.FieldErrors is { } fieldErrors ? ContainerResult<ContainerInfo>.Invalid(fieldErrors) : ContainerResult<ContainerInfo>.Failed(created.Failure);
        }

        var id = created.Value;
        var started = await CallAsync(token => _docker.Containers.StartContainerAsync(id, new ContainerStartParameters(), token),
            $"start container {id}", cancellationToken);
        if (!started.Succeeded)
        {
            // A container that never ran is of no use to anyone; do not leave it for the orphan cleanup.
            await CallAsync(async token =>
            {
                await _docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }, token);
                return id;
            }, $"remove container {id}", CancellationToken.None);
            _logger.ContainerStartFailed(id, binding.LeaseId, started.Failure.Detail);
            return ContainerResult<ContainerInfo>.Failed(started.Failure);
        }

        var gpu = binding.Gpu;
        if (gpu.Simulated)
        {
            _logger.ContainerGpuSimulated(binding.LeaseId, gpu.Index, gpu.Uuid, name);
        }

        _logger.ContainerStarted(id, name, request.Image, binding.LeaseId, binding.Epoch, binding.KernelId, gpu.Index, gpu.Uuid,
            gpu.Simulated ? "no GPU device request (the GPU is simulated)" : $"NVIDIA device request for {gpu.Uuid}",
            request.MemoryMiB, request.Cpus);
        return await InspectOwnAsync(id, cancellationToken);
    }

    /// <summary>This node's containers, running or not.</summary>
    public async Task<ContainerResult<IReadOnlyList<ContainerInfo>>> ListAsync(CancellationToken cancellationToken)
    {
        if (Unavailable() is { } unavailable)
        {
            return ContainerResult<IReadOnlyList<ContainerInfo>>.Failed(unavailable);
        }

        var listed = await CallAsync(token => _docker.Containers.ListContainersAsync(
            new ContainersListParameters { All = true, Filters = ContainerLabels.NodeFilter(_nodeId) }, token), "list containers", cancellationToken);
        return listed.Succeeded
            ? ContainerResult<IReadOnlyList<ContainerInfo>>.Success([.. listed.Value.Select(ToInfo).OrderBy(container => container.CreatedAt)])
            : ContainerResult<IReadOnlyList<ContainerInfo>>.Failed(listed.Failure);
    }

    /// <summary>One of this node's containers.</summary>
    public async Task<ContainerResult<ContainerInfo>> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return Unavailable() is { } unavailable ? ContainerResult<ContainerInfo>.Failed(unavailable) : await InspectOwnAsync(id, cancellationToken);
    }

    /// <summary>Stops one of this node's containers: SIGTERM, then SIGKILL after <see cref="ContainerOptions.StopTimeout"/>.</summary>
    public async Task<ContainerResult<ContainerInfo>> StopAsync(string id, CancellationToken cancellationToken)
    {
        var container = await GetAsync(id, cancellationToken);
        if (!container.Succeeded)
        {
            return container;
        }

        var stopped = await CallAsync(token => _docker.Containers.StopContainerAsync(container.Value.Id,
            new ContainerStopParameters { WaitBeforeKillSeconds = (uint)_options.StopTimeout.TotalSeconds }, token), $"stop container {id}", cancellationToken);
        if (!stopped.Succeeded)
        {
            return ContainerResult<ContainerInfo>.Failed(stopped.Failure);
        }

        _logger.ContainerStopped(container.Value.Id, container.Value.LeaseId, _options.StopTimeout, stopped.Value ? "running" : "not running");
        return await InspectOwnAsync(container.Value.Id, cancellationToken);
    }

    /// <summary>Removes one of this node's containers, killing it first when it still runs.</summary>
    public async Task<ContainerResult<ContainerInfo>> RemoveAsync(string id, CancellationToken cancellationToken)
    {
        var container = await GetAsync(id, cancellationToken);
        if (!container.Succeeded)
        {
            return container;
        }

        var removed = await RemoveCoreAsync(container.Value, stopFirst: false, cancellationToken);
        if (!removed.Succeeded)
        {
            return removed;
        }

        _logger.ContainerRemoved(container.Value.Id, container.Value.LeaseId);
        return container;
    }

    /// <summary>
    /// Opens the stdout and stderr of one of this node's containers, as the engine multiplexes them. Only the
    /// opening goes through the pipeline; the caller reads (and, with <paramref name="follow"/>, waits) for as
    /// long as it likes and disposes the stream.
    /// </summary>
    public async Task<ContainerResult<MultiplexedStream>> OpenLogsAsync(string id, bool follow, string? tail, CancellationToken cancellationToken)
    {
        var container = await GetAsync(id, cancellationToken);
        if (!container.Succeeded)
        {
            return ContainerResult<MultiplexedStream>.Failed(container.Failure);
        }

        var parameters = new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Follow = follow, Tail = tail ?? "all" };
        return await CallAsync(token => _docker.Containers.GetContainerLogsAsync(container.Value.Id, false, parameters, token),
            $"read the logs of container {id}", cancellationToken);
    }

    private ContainerFailure? Unavailable()
    {
        if (!_options.Enabled)
        {
            return Disabled();
        }

        // A missing socket means no engine: say so at once instead of after the retries.
        var uri = _options.DockerUri;
        if (string.Equals(uri.Scheme, "unix", StringComparison.Ordinal) && !File.Exists(uri.LocalPath))
        {
            return new ContainerFailure(ContainerFailureKind.DockerUnavailable, UnreachableDetail($"there is no socket at {uri.LocalPath}"));
        }

        return null;
    }

    private static ContainerFailure Disabled() =>
        new(ContainerFailureKind.Disabled,
            "Containers are disabled on this node (Agent:Containers:Enabled is false). Set Agent__Containers__Enabled=true and restart the agent to run containers.");

    private string UnreachableDetail(string why) =>
        $"The Docker engine at {_options.DockerUri} is not reachable: {why}. " +
        "Start dockerd (as root: bash eng/start-dockerd.sh, or systemctl start docker), or set Agent:Containers:DockerUri " +
        $"(environment Agent__Containers__DockerUri; default {ContainerOptions.DefaultDockerUri}) to the engine's socket.";

    private async Task<string> CreateAsync(CreateContainerParameters parameters, CancellationToken cancellationToken)
    {
        try
        {
            return (await _docker.Containers.CreateContainerAsync(parameters, cancellationToken)).ID;
        }
        catch (DockerApiException exception) when (exception.StatusCode == HttpStatusCode.Conflict)
        {
            // The name is unique to this request: a conflict is an earlier attempt that succeeded after all.
            var existing = await _docker.Containers.InspectContainerAsync(parameters.Name, cancellationToken);
            if (existing.Config.Labels is { } labels && labels.TryGetValue(ContainerLabels.Node, out var node) && node == _nodeId)
            {
                return existing.ID;
            }

            throw;
        }
    }

    private async Task<ContainerResult<ContainerInfo>> InspectOwnAsync(string id, CancellationToken cancellationToken)
    {
        var inspected = await CallAsync(token => _docker.Containers.InspectContainerAsync(id, token), $"inspect container {id}", cancellationToken);
        if (!inspected.Succeeded)
        {
            return ContainerResult<ContainerInfo>.Failed(inspected.Failure.Kind == ContainerFailureKind.ContainerNotFound ? NotFound(id) : inspected.Failure);
        }

        var labels = inspected.Value.Config?.Labels;
        if (labels is null || !labels.TryGetValue(ContainerLabels.Node, out var node) || node != _nodeId)
        {
            // Another node's container, or one the agent did not make: not ours to show or touch.
            return ContainerResult<ContainerInfo>.Failed(NotFound(id));
        }

        return ContainerResult<ContainerInfo>.Success(ToInfo(inspected.Value));
    }

    private async Task<ContainerResult<ContainerInfo>> RemoveCoreAsync(ContainerInfo container, bool stopFirst, CancellationToken cancellationToken)
    {
        if (stopFirst && container.State == "running")
        {
            var stopped = await CallAsync(token => _docker.Containers.StopContainerAsync(container.Id,
                new ContainerStopParameters { WaitBeforeKillSeconds = (uint)_options.StopTimeout.TotalSeconds }, token), $"stop container {container.Id}", cancellationToken);
            if (!stopped.Succeeded && stopped.Failure.Kind != ContainerFailureKind.ContainerNotFound)
            {
                return ContainerResult<ContainerInfo>.Failed(stopped.Failure);
            }
        }

        var removed = await CallAsync(async token =>
        {
            await _docker.Containers.RemoveContainerAsync(container.Id, new ContainerRemoveParameters { Force = true }, token);
            return container.Id;
        }, $"remove container {container.Id}", cancellationToken);

        // Gone already (a retry after an unknown outcome, or someone ran docker rm): what was asked is done.
        return removed.Succeeded || removed.Failure.Kind == ContainerFailureKind.ContainerNotFound
            ? ContainerResult<ContainerInfo>.Success(container)
            : ContainerResult<ContainerInfo>.Failed(removed.Failure);
    }

    private async Task<ContainerResult<T>> CallAsync<T>(Func<CancellationToken, Task<T>> call, string what, CancellationToken cancellationToken)
    {
        try
        {
            var value = await _pipeline.ExecuteAsync(static async (call, token) => await call(token), call, cancellationToken);
            return ContainerResult<T>.Success(value);
        }
        catch (DockerImageNotFoundException exception)
        {
            var message = EngineMessage(exception);
            return ContainerResult<T>.Invalid(new Dictionary<string, string[]>(StringComparer.Ordinal)
            {
                ["image"] = [$"The engine has no such image ({message}). The agent does not pull: load or import it on node '{_nodeId}' first (docker load, docker import)."],
            });
        }
        catch (DockerApiException exception) when (exception.StatusCode == HttpStatusCode.NotFound)
        {
            return ContainerResult<T>.Failed(ContainerFailureKind.ContainerNotFound, $"Could not {what}: {EngineMessage(exception)}.");
        }
        catch (BrokenCircuitException exception)
        {
            return ContainerResult<T>.Failed(ContainerFailureKind.DockerUnavailable,
                UnreachableDetail($"calls failed repeatedly, so they are paused for up to {ContainerResilience.BreakDuration.TotalSeconds:0} s ({exception.Message})"));
        }
        catch (Exception exception) when (ContainerResilience.IsUnavailable(exception) && !cancellationToken.IsCancellationRequested)
        {
            return ContainerResult<T>.Failed(ContainerFailureKind.DockerUnavailable,
                UnreachableDetail($"could not {what} after {ContainerResilience.MaxRetryAttempts + 1} attempts ({Describe(exception)})"));
        }
        catch (DockerApiException exception)
        {
            return ContainerResult<T>.Failed(ContainerFailureKind.DockerFailed,
                $"The Docker engine refused to {what}: {(int)exception.StatusCode} {EngineMessage(exception)}.");
        }
    }

    private ContainerFailure NotFound(string id) =>
        new(ContainerFailureKind.ContainerNotFound,
            $"No container '{id}' of node '{_nodeId}'. The agent shows only the containers it runs for leases (label {ContainerLabels.Node}={_nodeId}); " +
            "list them with GET /api/v1/containers.");

    private static string Describe(Exception exception) =>
        exception.InnerException is { } inner ? $"{exception.Message}: {inner.Message}" : exception.Message;

    /// <summary>The engine's own message (<c>{"message": "…"}</c>), or its raw body.</summary>
    private static string EngineMessage(DockerApiException exception)
    {
        var body = exception.ResponseBody?.Trim();
        if (string.IsNullOrEmpty(body))
        {
            return exception.StatusCode.ToString();
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("message", out var message)
                && message.ValueKind == JsonValueKind.String)
            {
                return message.GetString()!;
            }
        }
        catch (JsonException)
        {
            // Not JSON: show the body as it came.
        }

        return body;
    }

    private static ContainerInfo ToInfo(ContainerListResponse container)
    {
        var labels = container.Labels ?? new Dictionary<string, string>();
        var name = container.Names?.FirstOrDefault()?.TrimStart('/') ?? container.ID;
        return ToInfo(container.ID, name, container.Image, container.State, container.Status, labels, container.Created);
    }

    private static ContainerInfo ToInfo(ContainerInspectResponse container)
    {
        var labels = container.Config?.Labels ?? new Dictionary<string, string>();
        var state = container.State?.Status ?? "unknown";
        var status = container.State switch
        {
            { Running: true } running => $"running since {running.StartedAt}",
            { } other when state == "exited" => $"exited with code {other.ExitCode} at {other.FinishedAt}",
            _ => state,
        };
        return ToInfo(container.ID, container.Name.TrimStart('/'), container.Config?.Image ?? container.Image, state, status, labels, container.Created);
    }

    private static ContainerInfo ToInfo(string id, string name, string image, string state, string status, IDictionary<string, string> labels, DateTime created)
    {
        string Label(string key) => labels.TryGetValue(key, out var value) ? value : "";
        var epoch = long.TryParse(Label(ContainerLabels.Epoch), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : -1;
        var createdUtc = created.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(created, DateTimeKind.Utc) : created.ToUniversalTime();
        return new ContainerInfo(id, name, image, state, status, Label(ContainerLabels.Lease), epoch, Label(ContainerLabels.Kernel),
            Label(ContainerLabels.Node), Label(ContainerLabels.Gpu), Label(ContainerLabels.GpuSimulated) == "true", new DateTimeOffset(createdUtc));
    }
}
