using Attach.Agent.Suspend;

namespace Attach.Agent.Tests.Suspend;

/// <summary>Every process holds the same, known amount of device memory (or an unknown one).</summary>
internal sealed class FixedDeviceMemory(long? bytes) : IProcessDeviceMemory
{
    public const long GiB = 1024L * 1024 * 1024;

    public ValueTask<long?> BytesHeldAsync(int pid, CancellationToken cancellationToken) => ValueTask.FromResult(bytes);
}
