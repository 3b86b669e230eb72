namespace Attach.Agent.Suspend;

/// <summary>
/// How much device memory a process holds: what a suspend copies to host memory. The GPU backend provides it
/// (<c>nvidia-smi --query-compute-apps</c> per pid); until it does, <see cref="UnknownProcessDeviceMemory"/>
/// answers "unknown" rather than a guess.
/// </summary>
internal interface IProcessDeviceMemory
{
    /// <summary>The bytes of device memory <paramref name="pid"/> holds now, or null when unknown.</summary>
    ValueTask<long?> BytesHeldAsync(int pid, CancellationToken cancellationToken);
}
