using Attach.Contracts.Kernels;

namespace Attach.Broker.Pool;

/// <summary>Places and binds slices for the kernel state machine; the seam its unit tests replace.</summary>
internal interface IGpuBinder
{
    /// <summary>Reserves a slice, has the agent bind it, and returns it. Throws <see cref="AttachFailedException"/> with a reason.</summary>
    Task<AttachmentInfo> BindAsync(string kernelId, string owner, SliceRequest request, DateTimeOffset requestedAt, CancellationToken cancellationToken);

    /// <summary>Has the agent unbind the lease and frees it. Throws <see cref="AttachFailedException"/>; the capacity then stays reserved.</summary>
    Task UnbindAsync(string leaseId, CancellationToken cancellationToken);
}
