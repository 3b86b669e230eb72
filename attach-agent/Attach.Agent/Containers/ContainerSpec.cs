using System.Globalization;
using System.Text;
using Attach.Agent.Slices;
using Attach.Contracts.Pool;
using Docker.DotNet.Models;

namespace Attach.Agent.Containers;

/// <summary>What Docker is asked to create for a lease: image and command, the binding's environment, limits, labels, GPU.</summary>
internal static class ContainerSpec
{
    /// <summary>The NVIDIA container runtime's device driver name.</summary>
    public const string NvidiaDriver = "nvidia";

    /// <summary>Longest part of the lease id kept in a container's name.</summary>
    private const int MaxLeaseInName = 40;

    private const long BytesPerMiB = 1024 * 1024;

    /// <summary>
    /// The engine's parameters. The binding's environment comes last, so that it wins over the caller's (which
    /// <see cref="ContainerRunner"/> validates not to touch it anyway).
    /// </summary>
    public static CreateContainerParameters For(ContainerRunRequest request, BindingInfo binding, string nodeId, string name)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(binding);
        var environment = new List<string>();
        foreach (var (key, value) in request.Env ?? new Dictionary<string, string>())
        {
            environment.Add($"{key}={value}");
        }

        foreach (var (key, value) in binding.Environment)
        {
            environment.Add($"{key}={value}");
        }

        // The binding's environment carries ATTACH_LEASE_ID already; set it in any case, the shim relies on it.
        if (!binding.Environment.ContainsKey(SliceEnvironment.LeaseId))
        {
            environment.Add($"{SliceEnvironment.LeaseId}={binding.LeaseId}");
        }

        return new CreateContainerParameters
        {
            Name = name,
            Image = request.Image,
            Cmd = request.Command is { Count: > 0 } command ? [.. command] : null,
            Env = environment,
            Labels = Labels(binding, nodeId),
            HostConfig = new HostConfig
            {
                Memory = request.MemoryMiB is { } memoryMiB ? memoryMiB * BytesPerMiB : 0,
                NanoCPUs = request.Cpus is { } cpus ? (long)Math.Round(cpus * 1e9) : 0,
                DeviceRequests = DeviceRequestsFor(binding.Gpu, binding.MigUuid),
            },
        };
    }

    /// <summary>
    /// A real GPU: one NVIDIA device request for exactly that GPU, by UUID (renumbering cannot move it). A simulated
    /// GPU has no device to hand over: no request at all, or the engine would fail without the NVIDIA runtime. A MIG
    /// slice requests its instance by MIG UUID, which the NVIDIA container toolkit accepts in place of a GPU's.
    /// </summary>
    public static IList<DeviceRequest>? DeviceRequestsFor(GpuInfo gpu, string? migUuid = null)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        return gpu.Simulated
            ? null
            : [new DeviceRequest { Driver = NvidiaDriver, DeviceIDs = [migUuid ?? gpu.Uuid], Capabilities = [["gpu"]] }];
    }

    /// <summary>The labels that tie the container to its lease and node.</summary>
    public static Dictionary<string, string> Labels(BindingInfo binding, string nodeId)
    {
        ArgumentNullException.ThrowIfNull(binding);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ContainerLabels.Lease] = binding.LeaseId,
            [ContainerLabels.Epoch] = binding.Epoch.ToString(CultureInfo.InvariantCulture),
            [ContainerLabels.Kernel] = binding.KernelId,
            [ContainerLabels.Node] = nodeId,
            [ContainerLabels.Gpu] = binding.Gpu.Uuid,
            [ContainerLabels.GpuSimulated] = binding.Gpu.Simulated ? "true" : "false",
        };
    }

    /// <summary>
    /// <c>attach-&lt;lease&gt;-&lt;random&gt;</c>: readable in <c>docker ps</c>, and unique, so that a create retried after
    /// an unknown outcome meets its own first attempt (409) instead of making a second container.
    /// </summary>
    public static string NameFor(string leaseId)
    {
        ArgumentNullException.ThrowIfNull(leaseId);
        var lease = new StringBuilder(Math.Min(leaseId.Length, MaxLeaseInName));
        foreach (var character in leaseId.AsSpan(0, Math.Min(leaseId.Length, MaxLeaseInName)))
        {
            lease.Append(char.IsAsciiLetterOrDigit(character) || character is '_' or '.' or '-' ? character : '-');
        }

        return $"attach-{lease}-{Guid.NewGuid().ToString("N")[..12]}";
    }
}
