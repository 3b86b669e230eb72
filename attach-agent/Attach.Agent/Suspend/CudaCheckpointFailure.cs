using Attach.Contracts.Pool;

namespace Attach.Agent.Suspend;

/// <summary>A failed <c>cuda-checkpoint</c> run, with what the agent knows around it.</summary>
/// <param name="Action">What was attempted.</param>
/// <param name="Pid">The process.</param>
/// <param name="Arguments">The command line, for the fallback message.</param>
/// <param name="Result">How the run ended.</param>
/// <param name="ObservedState">The process's state read after the failure, when it could be read.</param>
/// <param name="ProcessExists">Whether the process still exists.</param>
/// <param name="Gpu">The GPU involved (the restore target, or the GPU suspended from); null for a state query.</param>
/// <param name="DeviceMap">The <c>--device-map</c> value passed, if any.</param>
/// <param name="LockTimeout">The lock timeout passed.</param>
internal sealed record CudaCheckpointFailure(
    CudaCheckpointAction Action,
    int Pid,
    IReadOnlyList<string> Arguments,
    CommandResult Result,
    CudaProcessState? ObservedState,
    bool ProcessExists,
    GpuInfo? Gpu,
    string? DeviceMap,
    TimeSpan LockTimeout);
