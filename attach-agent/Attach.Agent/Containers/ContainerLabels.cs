namespace Attach.Agent.Containers;

/// <summary>The labels that tie a container to its lease; the agent only touches containers carrying its node's label.</summary>
internal static class ContainerLabels
{
    /// <summary>The lease the container runs under.</summary>
    public const string Lease = "io.attach.lease";

    /// <summary>The lease's epoch (fencing token) when the container was created.</summary>
    public const string Epoch = "io.attach.epoch";

    /// <summary>The kernel holding the lease.</summary>
    public const string Kernel = "io.attach.kernel";

    /// <summary>The node (agent) that owns the container.</summary>
    public const string Node = "io.attach.node";

    /// <summary>The bound GPU's UUID.</summary>
    public const string Gpu = "io.attach.gpu";

    /// <summary>
    /// <c>true</c> when the bound GPU is simulated, so the container got no GPU device request and sees no device.
    /// </summary>
    public const string GpuSimulated = "io.attach.gpu.simulated";

    /// <summary>A Docker list filter that matches this node's containers.</summary>
    public static IDictionary<string, IDictionary<string, bool>> NodeFilter(string nodeId) =>
        new Dictionary<string, IDictionary<string, bool>>(StringComparer.Ordinal)
        {
            ["label"] = new Dictionary<string, bool>(StringComparer.Ordinal) { [$"{Node}={nodeId}"] = true },
        };
}
