namespace Attach.Contracts.Pool;

/// <summary>Run a containerised kernel or batch job under a lease bound on the agent.</summary>
/// <param name="LeaseId">The lease the container runs under; it must be bound on the agent (<c>/api/v1/bindings</c>).</param>
/// <param name="Image">A local image, e.g. <c>attach-test/busybox:1</c>; the agent does not pull.</param>
/// <param name="Command">The command and its arguments; empty for the image's own.</param>
/// <param name="MemoryMiB">Host memory limit; none when null.</param>
/// <param name="Cpus">CPU limit in CPUs (e.g. 1.5); none when null.</param>
/// <param name="Env">
/// More environment variables. The binding's own (<c>CUDA_VISIBLE_DEVICES</c>, HAMi-core's limits,
/// <c>ATTACH_LEASE_ID</c>) are set by the agent and cannot be overridden.
/// </param>
public sealed record ContainerRunRequest(
    string LeaseId,
    string Image,
    IReadOnlyList<string>? Command = null,
    long? MemoryMiB = null,
    double? Cpus = null,
    IReadOnlyDictionary<string, string>? Env = null);
