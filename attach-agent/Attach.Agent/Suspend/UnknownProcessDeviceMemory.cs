namespace Attach.Agent.Suspend;

/// <summary>No source of per-process device memory: every answer is "unknown".</summary>
internal sealed class UnknownProcessDeviceMemory : IProcessDeviceMemory
{
    public ValueTask<long?> BytesHeldAsync(int pid, CancellationToken cancellationToken) => ValueTask.FromResult<long?>(null);
}
