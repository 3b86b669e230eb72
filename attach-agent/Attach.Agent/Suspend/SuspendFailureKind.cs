namespace Attach.Agent.Suspend;

/// <summary>Why a suspend, resume or state query did not happen.</summary>
internal enum SuspendFailureKind
{
    /// <summary>A request value is invalid (a pid, a target GPU); the caller must fix its request.</summary>
    InvalidRequest,

    /// <summary>The lease is not bound on this node and no suspended process is recorded for it.</summary>
    NotFound,

    /// <summary>No process is known for the lease: its kernel never touched CUDA.</summary>
    NoProcess,

    /// <summary>The process has no CUDA state to suspend, or no longer exists.</summary>
    NotCudaProcess,

    /// <summary>The process is not in the state the operation starts from.</summary>
    WrongState,

    /// <summary>Another suspend or resume of the same lease is in progress.</summary>
    Busy,

    /// <summary>The requested target GPU does not exist or is another model.</summary>
    InvalidTarget,

    /// <summary>The target GPU has not enough free memory for the restore.</summary>
    OutOfMemory,

    /// <summary>The operation did not finish in time.</summary>
    Timeout,

    /// <summary><c>cuda-checkpoint</c> is not installed where the agent looks for it.</summary>
    ToolMissing,

    /// <summary>The driver is too old for an action the agent needs.</summary>
    DriverTooOld,

    /// <summary>The driver cannot checkpoint this process (e.g. UVM or IPC memory).</summary>
    NotSupported,

    /// <summary><c>cuda-checkpoint</c> failed for another reason; the detail carries its output.</summary>
    ToolFailed,
}
