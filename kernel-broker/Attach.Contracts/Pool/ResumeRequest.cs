namespace Attach.Contracts.Pool;

/// <summary>The broker asks an agent to resume a suspended process (the body is optional).</summary>
/// <param name="Pid">The process, when the agent does not know it from the suspend.</param>
/// <param name="TargetGpuIndex">
/// The GPU to restore onto; it must be the same model as the one the process was suspended from. Absent: the
/// lease's bound GPU, or else the GPU it was suspended from.
/// </param>
public sealed record ResumeRequest(int? Pid = null, int? TargetGpuIndex = null);
