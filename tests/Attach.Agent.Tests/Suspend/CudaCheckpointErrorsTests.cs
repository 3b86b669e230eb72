using System.Globalization;
using Attach.Agent.Suspend;
using Attach.Contracts.Pool;

namespace Attach.Agent.Tests.Suspend;

/// <summary>
/// Every transition <c>cuda-checkpoint</c> refuses, run against the fake utility, and the reason the agent gives.
/// </summary>
public sealed class CudaCheckpointErrorsTests : IDisposable
{
    private static readonly int Pid = Environment.ProcessId;
    private static readonly GpuInfo Gpu = new(0, "GPU-eea0d83f-ebcd-ac27-6b3e-bec2a19724e6", "A100 80GB", 81920, Simulated: false);

    private readonly FakeCudaCheckpoint _tool = new();

    public void Dispose() => _tool.Dispose();

    [Theory]
    [InlineData("Lock", CudaProcessState.Locked, "is already locked", "--action unlock")]
    [InlineData("Lock", CudaProcessState.Checkpointed, "is already suspended", "Resume it before suspending it again")]
    [InlineData("Checkpoint", CudaProcessState.Running, "only a locked process can be checkpointed", "Suspend it again")]
    [InlineData("Checkpoint", CudaProcessState.Checkpointed, "is already suspended", "Resume it before suspending it again")]
    [InlineData("Restore", CudaProcessState.Running, "is running on its GPU, not suspended", "nothing to resume")]
    [InlineData("Restore", CudaProcessState.Locked, "still on the GPU", "--action unlock")]
    [InlineData("Unlock", CudaProcessState.Running, "is already running", "nothing to unlock")]
    [InlineData("Unlock", CudaProcessState.Checkpointed, "is still suspended", "Resume it instead")]
    [InlineData("Lock", CudaProcessState.Failed, "in state 'failed'", "Restart the kernel")]
    [InlineData("Restore", CudaProcessState.Failed, "in state 'failed'", "Restart the kernel")]
    public async Task InvalidTransition_ToolRefuses_ReasonNamesStateAndWhatToDo(string actionName, CudaProcessState state, string reason, string remedy)
    {
        var action = Enum.Parse<CudaCheckpointAction>(actionName);
        _tool.Process(Pid, state);
        string[] arguments = ["--action", action.ToString().ToLowerInvariant(), "--pid", Pid.ToString(CultureInfo.InvariantCulture)];

        var result = await new ProcessCommandRunner().RunAsync(_tool.Path, arguments, CancellationToken.None);
        var failure = CudaCheckpointErrors.Explain(new CudaCheckpointFailure(action, Pid, arguments, result, state, ProcessExists: true, Gpu, null, TimeSpan.FromSeconds(10)));

        Assert.Equal(CudaCheckpointErrors.IllegalStateExit, result.ExitCode);
        Assert.Equal(
            $"Could not {arguments[1]} on process ID {Pid}: \"{CudaCheckpointErrors.IllegalStateText}\"",
            result.StandardError.Trim());
        Assert.Equal(SuspendFailureKind.WrongState, failure.Kind);
        Assert.Contains(reason, failure.Detail, StringComparison.Ordinal);
        Assert.Contains(remedy, failure.Detail, StringComparison.Ordinal);
        Assert.Equal(state.ToString().ToLowerInvariant(), _tool.StateOf(Pid));
    }

    [Theory]
    [InlineData("Lock", CudaProcessState.Running)]
    [InlineData("Checkpoint", CudaProcessState.Locked)]
    [InlineData("Restore", CudaProcessState.Checkpointed)]
    [InlineData("Unlock", CudaProcessState.Locked)]
    public async Task ValidTransition_ToolSucceedsSilently(string action, CudaProcessState state)
    {
        _tool.Process(Pid, state);

        var result = await new ProcessCommandRunner().RunAsync(
            _tool.Path, ["--action", action.ToLowerInvariant(), "--pid", Pid.ToString(CultureInfo.InvariantCulture)], CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public void Explain_IllegalStateWithUnknownState_PointsAtGetState()
    {
        var failure = Explain(CudaCheckpointAction.Lock, CudaCheckpointErrors.IllegalStateExit, CudaCheckpointErrors.IllegalStateText);

        Assert.Equal(SuspendFailureKind.WrongState, failure.Kind);
        Assert.Contains($"cuda-checkpoint --get-state --pid {Pid}", failure.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(304, CudaCheckpointErrors.OperatingSystemText, "ToolFailed", "must run as root")]
    [InlineData(801, CudaCheckpointErrors.NotSupportedText, "NotSupported", "UVM")]
    [InlineData(3, CudaCheckpointErrors.NotInitializedText, "ToolFailed", "try again")]
    [InlineData(800, CudaCheckpointErrors.NotPermittedText, "ToolFailed", "as root")]
    [InlineData(999, "unknown error", "ToolFailed", "exit status 231")]
    public void Explain_DriverErrors_MappedToReasons(int cudaError, string text, string kind, string fragment)
    {
        var failure = Explain(CudaCheckpointAction.Checkpoint, cudaError & 0xFF, text);

        Assert.Equal(Enum.Parse<SuspendFailureKind>(kind), failure.Kind);
        Assert.Contains(fragment, failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_MessageAloneIdentifiesTheError_WhenTheExitCodeDoesNot()
    {
        var failure = Explain(CudaCheckpointAction.Restore, 0x7F, CudaCheckpointErrors.OutOfMemoryText);

        Assert.Equal(SuspendFailureKind.OutOfMemory, failure.Kind);
    }

    private static SuspendFailure Explain(CudaCheckpointAction action, int exitCode, string text)
    {
        var verb = action.ToString().ToLowerInvariant();
        var result = new CommandResult(exitCode, "", $"Could not {verb} on process ID {Pid}: \"{text}\"\n");
        return CudaCheckpointErrors.Explain(new CudaCheckpointFailure(
            action, Pid, ["--action", verb, "--pid", Pid.ToString(CultureInfo.InvariantCulture)], result, null, ProcessExists: true, Gpu, null, TimeSpan.FromSeconds(10)));
    }
}
