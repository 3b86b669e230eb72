using System.Collections.Concurrent;
using System.ComponentModel;
using System.Globalization;
using Attach.Agent.Gpu;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;

namespace Attach.Agent.Suspend;

/// <summary>
/// Suspends and resumes processes with NVIDIA's <c>cuda-checkpoint</c> utility (driver 550 or newer; the
/// separate actions used here need r555, restoring onto another GPU r580). A suspend is
/// <c>--action lock --timeout</c> then <c>--action checkpoint</c>; a resume is <c>--action restore</c>
/// (with <c>--device-map old=new</c> when the GPU changes) then <c>--action unlock</c>. After a failure the
/// process's state is read again, so the reason given is about the state it is really in, and a suspend that
/// failed after its lock is unlocked again so the process keeps running.
/// </summary>
internal sealed class CudaCheckpointClient : IProcessSuspender
{
    /// <summary>The backend's name.</summary>
    public const string BackendName = "cuda-checkpoint";

    private const string ProcessIdOption = "--pid";

    private readonly SuspendOptions _options;
    private readonly ICommandRunner _runner;
    private readonly IProcessDeviceMemory _memory;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<CudaCheckpointClient> _logger;
    private readonly ResiliencePipeline _pipeline;

    // What each suspended process held when it was checkpointed: a resume moves the same bytes back, and after
    // the checkpoint the GPU backend no longer sees the process.
    private readonly ConcurrentDictionary<int, long?> _checkpointedBytes = new();

    // Probed on first use and kept once usable; a missing or unusable tool is probed again on the next call,
    // so installing it needs no agent restart.
    private ToolProbe? _tool;

    public CudaCheckpointClient(
        IOptions<SuspendOptions> options,
        ICommandRunner runner,
        IProcessDeviceMemory memory,
        TimeProvider timeProvider,
        ILogger<CudaCheckpointClient> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _runner = runner;
        _memory = memory;
        _timeProvider = timeProvider;
        _logger = logger;
        _pipeline = CudaCheckpointResilience.Build(timeProvider, _options.CommandTimeout);
    }

    public string Name => BackendName;

    public bool Simulated => false;

    public async Task<ProcessStateReport> GetStateAsync(int pid, CancellationToken cancellationToken)
    {
        var tool = await ProbeAsync(cancellationToken).ConfigureAwait(false);
        if (tool.Failure is not null)
        {
            return new ProcessStateReport(pid, null, Simulated: false, tool.Failure);
        }

        var run = await RunActionAsync(tool, CudaCheckpointAction.GetState, pid, [], cancellationToken).ConfigureAwait(false);
        if (run.Result is { ExitCode: 0 } result)
        {
            return TryParseState(result.StandardOutput, out var state)
                ? new ProcessStateReport(pid, state, Simulated: false)
                : new ProcessStateReport(pid, null, Simulated: false, new SuspendFailure(SuspendFailureKind.ToolFailed,
                    $"'cuda-checkpoint --get-state --pid {pid}' printed \"{result.Output}\", which is not a state the agent knows " +
                    "(running, locked, checkpointed, failed). Check that Agent:Suspend:CudaCheckpointPath is NVIDIA's cuda-checkpoint."));
        }

        return new ProcessStateReport(pid, null, Simulated: false, Explain(run, pid, observedState: null, gpu: null, deviceMap: null));
    }

    public async Task<SuspendOutcome> SuspendAsync(CudaProcess process, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(process);
        var started = _timeProvider.GetTimestamp();
        var tool = await ProbeAsync(cancellationToken).ConfigureAwait(false);
        if (tool.Failure is not null)
        {
            return Outcome(SuspendOperation.Suspend, process, process.Gpu, state: null, bytes: null, started, tool.Failure);
        }

        var pid = process.Pid;
        var locked = await RunActionAsync(tool, CudaCheckpointAction.Lock, pid,
            ["--timeout", ((long)_options.LockTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false);
        if (!locked.Succeeded)
        {
            var (state, failure) = await ExplainWithStateAsync(tool, locked, pid, process.Gpu, deviceMap: null, cancellationToken).ConfigureAwait(false);
            return Outcome(SuspendOperation.Suspend, process, process.Gpu, state, bytes: null, started, failure);
        }

        // Measured while locked: the process can neither allocate nor free until it is unlocked.
        var bytes = await _memory.BytesHeldAsync(pid, cancellationToken).ConfigureAwait(false);
        var checkpointed = await RunActionAsync(tool, CudaCheckpointAction.Checkpoint, pid, [], cancellationToken).ConfigureAwait(false);
        if (!checkpointed.Succeeded)
        {
            var (state, failure) = await ExplainWithStateAsync(tool, checkpointed, pid, process.Gpu, deviceMap: null, cancellationToken).ConfigureAwait(false);
            if (state == CudaProcessState.Locked)
            {
                state = await UnlockAfterFailedCheckpointAsync(tool, pid, cancellationToken).ConfigureAwait(false);
            }

            return Outcome(SuspendOperation.Suspend, process, process.Gpu, state, bytes: null, started, failure);
        }

        _checkpointedBytes[pid] = bytes;
        return Outcome(SuspendOperation.Suspend, process, process.Gpu, CudaProcessState.Checkpointed, bytes, started, failure: null);
    }

    public async Task<SuspendOutcome> ResumeAsync(CudaProcess process, GpuInfo target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(target);
        var started = _timeProvider.GetTimestamp();
        var tool = await ProbeAsync(cancellationToken).ConfigureAwait(false);
        if (tool.Failure is not null)
        {
            return Outcome(SuspendOperation.Resume, process, target, state: null, bytes: null, started, tool.Failure);
        }

        var pid = process.Pid;
        string? deviceMap = null;
        if (!string.Equals(process.Gpu.Uuid, target.Uuid, StringComparison.Ordinal))
        {
            if (!tool.Capabilities!.SupportsDeviceMap)
            {
                return Outcome(SuspendOperation.Resume, process, target, state: null, bytes: null, started, new SuspendFailure(SuspendFailureKind.DriverTooOld,
                    $"Process {pid} was suspended from GPU {process.Gpu.Index} and is to resume on GPU {target.Index}, but this node's cuda-checkpoint " +
                    $"(version {tool.Capabilities.Version ?? "unknown"}) has no --device-map: restoring onto another GPU needs NVIDIA driver r580 or newer. " +
                    $"Resume it on GPU {process.Gpu.Index}, or upgrade the driver."));
            }

            // One pair: a lease binds one GPU. The map must name every device the process had (NVIDIA's --help).
            deviceMap = $"{process.Gpu.Uuid}={target.Uuid}";
        }

        var restored = await RunActionAsync(tool, CudaCheckpointAction.Restore, pid,
            deviceMap is null ? [] : ["--device-map", deviceMap], cancellationToken).ConfigureAwait(false);
        if (!restored.Succeeded)
        {
            var (state, failure) = await ExplainWithStateAsync(tool, restored, pid, target, deviceMap, cancellationToken).ConfigureAwait(false);
            return Outcome(SuspendOperation.Resume, process, target, state, bytes: null, started, failure);
        }

        var unlocked = await RunActionAsync(tool, CudaCheckpointAction.Unlock, pid, [], cancellationToken).ConfigureAwait(false);
        if (!unlocked.Succeeded)
        {
            var (state, failure) = await ExplainWithStateAsync(tool, unlocked, pid, target, deviceMap, cancellationToken).ConfigureAwait(false);
            return Outcome(SuspendOperation.Resume, process, target, state, bytes: null, started, failure);
        }

        var bytes = _checkpointedBytes.TryRemove(pid, out var atCheckpoint) && atCheckpoint is not null
            ? atCheckpoint
            : await _memory.BytesHeldAsync(pid, cancellationToken).ConfigureAwait(false);
        return Outcome(SuspendOperation.Resume, process, target, CudaProcessState.Running, bytes, started, failure: null);
    }

    /// <summary>Reads <c>--get-state</c>'s answer: <c>running</c>, <c>locked</c>, <c>checkpointed</c> or <c>failed</c>.</summary>
    internal static bool TryParseState(string output, out CudaProcessState state)
    {
        ArgumentNullException.ThrowIfNull(output);
        state = default;
        var word = output.Trim().Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        switch (word?.ToUpperInvariant())
        {
            case "RUNNING":
                state = CudaProcessState.Running;
                return true;
            case "LOCKED":
                state = CudaProcessState.Locked;
                return true;
            case "CHECKPOINTED":
                state = CudaProcessState.Checkpointed;
                return true;
            case "FAILED":
                state = CudaProcessState.Failed;
                return true;
            default:
                return false;
        }
    }

    private async Task<CudaProcessState?> UnlockAfterFailedCheckpointAsync(ToolProbe tool, int pid, CancellationToken cancellationToken)
    {
        var unlocked = await RunActionAsync(tool, CudaCheckpointAction.Unlock, pid, [], cancellationToken).ConfigureAwait(false);
        var state = unlocked.Succeeded
            ? CudaProcessState.Running
            : (await GetStateAsync(pid, cancellationToken).ConfigureAwait(false)).State;
        _logger.SuspendRolledBack(pid, state);
        return state;
    }

    private async Task<(CudaProcessState? State, SuspendFailure Failure)> ExplainWithStateAsync(
        ToolProbe tool, ToolRun run, int pid, GpuInfo gpu, string? deviceMap, CancellationToken cancellationToken)
    {
        CudaProcessState? state = null;
        if (ProcessExists(pid))
        {
            var stateRun = await RunActionAsync(tool, CudaCheckpointAction.GetState, pid, [], cancellationToken).ConfigureAwait(false);
            if (stateRun.Result is { ExitCode: 0 } result && TryParseState(result.StandardOutput, out var parsed))
            {
                state = parsed;
            }
        }

        return (state, Explain(run, pid, state, gpu, deviceMap));
    }

    private SuspendFailure Explain(ToolRun run, int pid, CudaProcessState? observedState, GpuInfo? gpu, string? deviceMap)
    {
        if (run.StartFailure is not null)
        {
            return run.StartFailure;
        }

        if (run.Result is null)
        {
            return new SuspendFailure(SuspendFailureKind.Timeout,
                $"'cuda-checkpoint {string.Join(' ', run.Arguments)}' did not finish within {run.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s " +
                $"and was stopped; process {pid} is now {Describe(observedState)}. Check it with 'cuda-checkpoint --get-state --pid {pid}'; " +
                "a large process may need a longer Agent:Suspend:TransferTimeout.");
        }

        return CudaCheckpointErrors.Explain(new CudaCheckpointFailure(
            run.Action, pid, run.Arguments, run.Result, observedState, ProcessExists(pid), gpu, deviceMap, _options.LockTimeout));
    }

    private async Task<ToolRun> RunActionAsync(
        ToolProbe tool, CudaCheckpointAction action, int pid, IReadOnlyList<string> extra, CancellationToken cancellationToken)
    {
        var pidText = pid.ToString(CultureInfo.InvariantCulture);
        string[] arguments = action switch
        {
            CudaCheckpointAction.GetState => ["--get-state", ProcessIdOption, pidText],
            _ => ["--action", action.ToString().ToLowerInvariant(), ProcessIdOption, pidText, .. extra],
        };
        var timeout = action switch
        {
            // The tool gives up on its own after the lock timeout; the margin lets it say so before it is killed.
            CudaCheckpointAction.Lock => _options.LockTimeout + _options.CommandTimeout,
            CudaCheckpointAction.Checkpoint or CudaCheckpointAction.Restore => _options.TransferTimeout,
            _ => _options.CommandTimeout,
        };
        return await RunAsync(tool.Path!, action, arguments, timeout, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ToolRun> RunAsync(string path, CudaCheckpointAction action, string[] arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(CudaCheckpointResilience.RunTimeout, timeout);
        var started = _timeProvider.GetTimestamp();
        try
        {
            var result = await _pipeline.ExecuteAsync(
                static async (context, state) => await state.Runner.RunAsync(state.Path, state.Arguments, context.CancellationToken).ConfigureAwait(false),
                context,
                (Runner: _runner, Path: path, Arguments: arguments)).ConfigureAwait(false);
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                _logger.CudaCheckpointRan(string.Join(' ', arguments), result.ExitCode, _timeProvider.GetElapsedTime(started), result.Output);
            }

            return new ToolRun(action, arguments, timeout, result, StartFailure: null);
        }
        catch (TimeoutRejectedException)
        {
            _logger.CudaCheckpointKilled(string.Join(' ', arguments), timeout);
            return new ToolRun(action, arguments, timeout, Result: null, StartFailure: null);
        }
        catch (Win32Exception exception)
        {
            return new ToolRun(action, arguments, timeout, Result: null, new SuspendFailure(SuspendFailureKind.ToolMissing,
                $"cuda-checkpoint at {path} could not be started ({exception.Message}). Make it executable for the agent's user (chmod +x), " +
                "or point Agent__Suspend__CudaCheckpointPath at NVIDIA's cuda-checkpoint."));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task<ToolProbe> ProbeAsync(CancellationToken cancellationToken)
    {
        if (_tool is { } usable)
        {
            return usable;
        }

        var probe = await ProbeCoreAsync(cancellationToken).ConfigureAwait(false);
        if (probe.Failure is null)
        {
            _logger.CudaCheckpointFound(probe.Path!, probe.Capabilities!.Version, probe.Capabilities.SupportsActions, probe.Capabilities.SupportsDeviceMap);
            _tool = probe;
        }
        else
        {
            _logger.CudaCheckpointUnusable(probe.Failure.Detail);
        }

        return probe;
    }

    private async Task<ToolProbe> ProbeCoreAsync(CancellationToken cancellationToken)
    {
        var configured = _options.CudaCheckpointPath;
        var path = Resolve(configured);
        if (path is null)
        {
            var where = configured.Contains('/', StringComparison.Ordinal) ? "and there is no such file" : "which is not on the agent's PATH";
            return ToolProbe.Unusable(new SuspendFailure(SuspendFailureKind.ToolMissing,
                $"cuda-checkpoint was not found: Agent:Suspend:CudaCheckpointPath is '{configured}', {where}. Install NVIDIA driver 550 or newer " +
                "(555 or newer for the lock, checkpoint, restore and unlock actions the agent uses; 580 or newer to resume on another GPU) and put " +
                "NVIDIA's cuda-checkpoint utility (https://github.com/NVIDIA/cuda-checkpoint) on the agent's PATH, or set " +
                "Agent__Suspend__CudaCheckpointPath to its full path."));
        }

        var help = await RunAsync(path, CudaCheckpointAction.GetState, ["--help"], _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (help.StartFailure is not null)
        {
            return ToolProbe.Unusable(help.StartFailure);
        }

        if (help.Result is not { ExitCode: 0 } result)
        {
            return ToolProbe.Unusable(new SuspendFailure(SuspendFailureKind.ToolFailed,
                $"'{path} --help' failed ({(help.Result is null ? "it did not finish" : $"exit status {help.Result.ExitCode}: {help.Result.Output}")}). " +
                "Check that Agent:Suspend:CudaCheckpointPath is NVIDIA's cuda-checkpoint and that the NVIDIA driver is loaded."));
        }

        var capabilities = CudaCheckpointCapabilities.FromHelp(result.StandardOutput + result.StandardError);
        if (!capabilities.SupportsActions)
        {
            return ToolProbe.Unusable(new SuspendFailure(SuspendFailureKind.DriverTooOld,
                $"cuda-checkpoint at {path} (version {capabilities.Version ?? "unknown"}) has no --action option: the separate lock, checkpoint, " +
                "restore and unlock actions the agent uses need NVIDIA driver r555 or newer (r550 offers only --toggle). Upgrade the driver."));
        }

        return new ToolProbe(path, capabilities, Failure: null);
    }

    private static string? Resolve(string configured) =>
        configured.Contains('/', StringComparison.Ordinal)
            ? File.Exists(configured) ? configured : null
            : NvidiaDeviceProbe.FindOnPath(Environment.GetEnvironmentVariable("PATH"), configured);

    private static bool ProcessExists(int pid) => !OperatingSystem.IsLinux() || Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");

    private static string Describe(CudaProcessState? state) => state switch
    {
        null => "in an unknown state",
        { } known => known.ToString().ToLowerInvariant(),
    };

    private SuspendOutcome Outcome(
        SuspendOperation operation, CudaProcess process, GpuInfo gpu, CudaProcessState? state, long? bytes, long started, SuspendFailure? failure) =>
        new(operation, process.Pid, state, bytes, _timeProvider.GetElapsedTime(started), Simulated: false, gpu, failure);

    private sealed record ToolProbe(string? Path, CudaCheckpointCapabilities? Capabilities, SuspendFailure? Failure)
    {
        public static ToolProbe Unusable(SuspendFailure failure) => new(null, null, failure);
    }

    private sealed record ToolRun(CudaCheckpointAction Action, IReadOnlyList<string> Arguments, TimeSpan Timeout, CommandResult? Result, SuspendFailure? StartFailure)
    {
        public bool Succeeded => Result is { ExitCode: 0 };
    }
}
