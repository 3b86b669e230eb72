namespace Attach.Contracts.Pool;

/// <summary>A container an agent runs for a lease, as Docker reports it and as its labels tie it to the lease.</summary>
/// <param name="Id">Docker's container id.</param>
/// <param name="Name">The container's name (<c>attach-…</c>).</param>
/// <param name="Image">The image it runs.</param>
/// <param name="State">Docker's state: <c>created</c>, <c>running</c>, <c>exited</c>, …</param>
/// <param name="Status">Docker's status line, e.g. "Up 3 minutes".</param>
/// <param name="LeaseId">The lease (label <c>io.attach.lease</c>).</param>
/// <param name="Epoch">The lease's epoch when the container was created (label <c>io.attach.epoch</c>).</param>
/// <param name="KernelId">The kernel holding the lease (label <c>io.attach.kernel</c>).</param>
/// <param name="NodeId">The node that runs it (label <c>io.attach.node</c>).</param>
/// <param name="GpuUuid">The GPU bound to the lease.</param>
/// <param name="GpuSimulated">
/// True when that GPU is simulated: the container then got no GPU device request, only the binding's environment.
/// </param>
/// <param name="CreatedAt">When Docker created it.</param>
public sealed record ContainerInfo(
    string Id,
    string Name,
    string Image,
    string State,
    string Status,
    string LeaseId,
    long Epoch,
    string KernelId,
    string NodeId,
    string GpuUuid,
    bool GpuSimulated,
    DateTimeOffset CreatedAt);
