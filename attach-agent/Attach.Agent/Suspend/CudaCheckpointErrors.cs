using System.Globalization;
using Attach.Contracts.Pool;

namespace Attach.Agent.Suspend;

/// <summary>
/// Turns what <c>cuda-checkpoint</c> printed when it failed into a reason a person can act on.
/// </summary>
/// <remarks>
/// The utility prints <c>Could not &lt;action&gt; on process ID &lt;pid&gt;: "&lt;cuGetErrorString&gt;"</c> and exits
/// with the failed driver call's <c>CUresult</c> (checkpoint-restore/criu#2540), which the kernel truncates to 8
/// bits. Both the message and the exit status are matched, the message first: it survives the truncation.
/// </remarks>
internal static class CudaCheckpointErrors
{
    /// <summary><c>CUDA_ERROR_INVALID_VALUE</c> (1): "invalid argument".</summary>
    public const int InvalidValueExit = 1;

    /// <summary><c>CUDA_ERROR_OUT_OF_MEMORY</c> (2): "out of memory".</summary>
    public const int OutOfMemoryExit = 2;

    /// <summary><c>CUDA_ERROR_NOT_INITIALIZED</c> (3): "initialization error".</summary>
    public const int NotInitializedExit = 3;

    /// <summary><c>CUDA_ERROR_OPERATING_SYSTEM</c> (304): "OS call failed or operation not supported on this OS".</summary>
    public const int OperatingSystemExit = 304 & 0xFF;

    /// <summary><c>CUDA_ERROR_ILLEGAL_STATE</c> (401): "the operation cannot be performed in the present state".</summary>
    public const int IllegalStateExit = 401 & 0xFF;

    /// <summary><c>CUDA_ERROR_NOT_SUPPORTED</c> (801): "operation not supported".</summary>
    public const int NotSupportedExit = 801 & 0xFF;

    /// <summary><c>CUDA_ERROR_TIMEOUT</c> (909): "wait operation timed out".</summary>
    public const int TimeoutExit = 909 & 0xFF;

    public const string InvalidValueText = "invalid argument";
    public const string OutOfMemoryText = "out of memory";
    public const string NotInitializedText = "initialization error";
    public const string OperatingSystemText = "OS call failed or operation not supported on this OS";
    public const string IllegalStateText = "the operation cannot be performed in the present state";
    public const string NotSupportedText = "operation not supported";
    public const string NotPermittedText = "operation not permitted";
    public const string TimeoutText = "wait operation timed out";

    /// <summary>Explains a failed <c>cuda-checkpoint</c> run.</summary>
    /// <param name="failure">The run and what the agent knows around it.</param>
    public static SuspendFailure Explain(CudaCheckpointFailure failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var pid = failure.Pid;
        var output = failure.Result.Output;
        var exit = failure.Result.ExitCode;
        var verb = VerbOf(failure.Action);

        if (!failure.ProcessExists)
        {
            return new(SuspendFailureKind.NotCudaProcess,
                $"Process {pid} does not exist (it has exited), so there is no CUDA state to {verb}. Release the lease.");
        }

        if (failure.ObservedState == CudaProcessState.Failed)
        {
            return new(SuspendFailureKind.WrongState,
                $"The driver reports process {pid} in state 'failed': an earlier checkpoint or restore stopped part-way and cannot be undone, " +
                "so its GPU state is lost. Restart the kernel (or the process) and release the lease.");
        }

        if (Says(output, IllegalStateText) || exit == IllegalStateExit)
        {
            return WrongState(failure.Action, pid, failure.ObservedState);
        }

        if (Says(output, TimeoutText) || Says(output, "timed out") || exit == TimeoutExit)
        {
            return failure.Action == CudaCheckpointAction.Lock
                ? new(SuspendFailureKind.Timeout,
                    $"Process {pid} could not be locked within {Seconds(failure.LockTimeout)}: CUDA work it had submitted (a long-running kernel) " +
                    "had not finished. It keeps running on the GPU. Suspend it when it is idle, or raise Agent:Suspend:LockTimeout.")
                : new(SuspendFailureKind.Timeout,
                    $"cuda-checkpoint timed out trying to {verb} process {pid} ({Quote(output)}). Check its state with 'cuda-checkpoint --get-state --pid {pid}'.");
        }

        if (Says(output, OutOfMemoryText) || exit == OutOfMemoryExit)
        {
            return failure.Action == CudaCheckpointAction.Restore
                ? new(SuspendFailureKind.OutOfMemory,
                    $"{GpuName(failure.Gpu)} has not enough free device memory to restore process {pid}; it stays suspended " +
                    "in host memory. Free memory on that GPU, or resume it on another GPU of the same model. (Some drivers refuse every later " +
                    "restore of a process after a failed one, NVIDIA/cuda-checkpoint#44; then the kernel must be restarted.)")
                : new(SuspendFailureKind.OutOfMemory,
                    $"The host has not enough free memory to hold process {pid}'s device memory, so it could not be {Participle(failure.Action)}. " +
                    "It keeps its GPU. Free host memory on this node, or release the lease instead of suspending.");
        }

        // Before "operation not supported": CUDA_ERROR_OPERATING_SYSTEM's text contains it.
        if (Says(output, OperatingSystemText) || exit == OperatingSystemExit)
        {
            return new(SuspendFailureKind.ToolFailed,
                $"The driver refused to {verb} process {pid} (\"{OperatingSystemText}\"). cuda-checkpoint must run as root (or as the process's owner) " +
                "in the process's PID namespace with the NVIDIA devices visible. If an earlier restore of this process failed, the driver will not " +
                "restore it again (NVIDIA/cuda-checkpoint#44) and the kernel must be restarted.");
        }

        if (Says(output, NotSupportedText) || exit == NotSupportedExit)
        {
            return new(SuspendFailureKind.NotSupported,
                $"The driver cannot {verb} process {pid} (\"{NotSupportedText}\"): cuda-checkpoint does not support UVM (cudaMallocManaged) " +
                "or IPC memory, nor processes that share GPU state with others (NCCL). Release the lease instead of suspending.");
        }

        if (Says(output, NotPermittedText))
        {
            return new(SuspendFailureKind.ToolFailed,
                $"cuda-checkpoint may not {verb} process {pid} (\"{NotPermittedText}\"). Run the agent as root or as the process's owner.");
        }

        // By its text only: exit status 1 is also what a usage error returns.
        if (Says(output, InvalidValueText))
        {
            if (failure.Action == CudaCheckpointAction.Restore && failure.DeviceMap is not null)
            {
                return new(SuspendFailureKind.InvalidTarget,
                    $"The driver rejected the device map {failure.DeviceMap} (\"{InvalidValueText}\"), so process {pid} could not be restored onto " +
                    $"{GpuName(failure.Gpu)}; it stays suspended. Resume it on the GPU it was suspended from " +
                    "(some r580 drivers refuse other GPUs, NVIDIA/cuda-checkpoint#35).");
            }

            return new(SuspendFailureKind.NotCudaProcess,
                $"Process {pid} has no CUDA state the driver can {verb} (\"{InvalidValueText}\"): it never initialised CUDA, or the pid names a " +
                "thread rather than a process. There is nothing to suspend; release the lease instead.");
        }

        if (Says(output, NotInitializedText) || exit == NotInitializedExit)
        {
            return new(SuspendFailureKind.ToolFailed,
                $"cuda-checkpoint could not reach process {pid}'s CUDA state (\"{NotInitializedText}\"). This happens now and then while a " +
                "process starts or tears down CUDA; try again. If it persists, the process has not initialised CUDA (NVIDIA/cuda-checkpoint#10).");
        }

        return new(SuspendFailureKind.ToolFailed,
            $"'cuda-checkpoint {string.Join(' ', failure.Arguments)}' failed with exit status {exit.ToString(CultureInfo.InvariantCulture)}: {Quote(output)}.");
    }

    /// <summary>The reason for an action refused because the process is in another state.</summary>
    public static SuspendFailure WrongState(CudaCheckpointAction action, int pid, CudaProcessState? state) => new(SuspendFailureKind.WrongState, (action, state) switch
    {
        (_, CudaProcessState.Failed) =>
            $"The driver reports process {pid} in state 'failed': an earlier checkpoint or restore stopped part-way and cannot be undone. " +
            "Restart the kernel (or the process) and release the lease.",
        (CudaCheckpointAction.Lock, CudaProcessState.Locked) =>
            $"Process {pid} is already locked (a suspend was interrupted, or another tool such as CRIU holds it), so it cannot be suspended now. " +
            $"Unlock it with 'cuda-checkpoint --action unlock --pid {pid}', then suspend it again.",
        (CudaCheckpointAction.Lock or CudaCheckpointAction.Checkpoint, CudaProcessState.Checkpointed) =>
            $"Process {pid} is already suspended: its device memory is in host memory and it holds no GPU. Resume it before suspending it again.",
        (CudaCheckpointAction.Checkpoint, CudaProcessState.Running) =>
            $"Process {pid} is running, not locked, and only a locked process can be checkpointed: something unlocked it between the agent's " +
            "lock and checkpoint. Suspend it again.",
        (CudaCheckpointAction.Restore, CudaProcessState.Running) =>
            $"Process {pid} is running on its GPU, not suspended: there is nothing to resume.",
        (CudaCheckpointAction.Restore, CudaProcessState.Locked) =>
            $"Process {pid} is locked but its device memory is still on the GPU (a suspend stopped between lock and checkpoint), so there is " +
            $"nothing to restore. Let it run with 'cuda-checkpoint --action unlock --pid {pid}', or suspend it again.",
        (CudaCheckpointAction.Unlock, CudaProcessState.Running) =>
            $"Process {pid} is already running: there is nothing to unlock.",
        (CudaCheckpointAction.Unlock, CudaProcessState.Checkpointed) =>
            $"Process {pid} is still suspended (its device memory is in host memory), and a suspended process cannot be unlocked before it " +
            "is restored. Resume it instead.",
        _ =>
            $"cuda-checkpoint refused to {VerbOf(action)} process {pid}: \"{IllegalStateText}\", and its state could not be read. " +
            $"Check it with 'cuda-checkpoint --get-state --pid {pid}'.",
    });

    private static string VerbOf(CudaCheckpointAction action) => action switch
    {
        CudaCheckpointAction.GetState => "read the state of",
        CudaCheckpointAction.Lock => "lock",
        CudaCheckpointAction.Checkpoint => "checkpoint",
        CudaCheckpointAction.Restore => "restore",
        CudaCheckpointAction.Unlock => "unlock",
        _ => action.ToString(),
    };

    private static string Participle(CudaCheckpointAction action) => action switch
    {
        CudaCheckpointAction.Lock => "locked",
        CudaCheckpointAction.Checkpoint => "checkpointed",
        CudaCheckpointAction.Restore => "restored",
        CudaCheckpointAction.Unlock => "unlocked",
        _ => "handled",
    };

    private static string GpuName(GpuInfo? gpu) => gpu is null ? "the GPU" : $"GPU {gpu.Index} ({gpu.DisplayName})";

    private static bool Says(string output, string text) => output.Contains(text, StringComparison.OrdinalIgnoreCase);

    private static string Quote(string output) => output.Length == 0 ? "it printed nothing" : $"\"{output}\"";

    private static string Seconds(TimeSpan duration) =>
        string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:0.###} s");
}
