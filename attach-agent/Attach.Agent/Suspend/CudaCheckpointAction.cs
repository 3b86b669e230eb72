namespace Attach.Agent.Suspend;

/// <summary>The <c>cuda-checkpoint</c> operations the agent uses.</summary>
internal enum CudaCheckpointAction
{
    /// <summary><c>--get-state</c>.</summary>
    GetState,

    /// <summary><c>--action lock</c>: block CUDA calls and wait for submitted work.</summary>
    Lock,

    /// <summary><c>--action checkpoint</c>: device memory to host, GPU resources released.</summary>
    Checkpoint,

    /// <summary><c>--action restore</c>: GPU re-acquired, device memory copied back.</summary>
    Restore,

    /// <summary><c>--action unlock</c>: CUDA calls proceed.</summary>
    Unlock,
}
