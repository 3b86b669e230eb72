using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Attach.Contracts.Pool;

namespace Attach.Agent.Gpu;

/// <summary>
/// GPUs that do not exist, for development, demos and CI. Every one is marked <see cref="GpuInfo.Simulated"/>,
/// so every status that shows it says so.
/// </summary>
internal sealed class SimulatedGpuInventory : IGpuInventory
{
    /// <summary>The backend's name in <see cref="GpuBackendInfo.Name"/>.</summary>
    public const string BackendName = "simulated";

    /// <summary>Prefix of every simulated GPU's UUID (NVIDIA's start with <c>GPU-</c>).</summary>
    public const string UuidPrefix = "SIM-";

    public SimulatedGpuInventory(string nodeId, SimulatedGpuOptions options, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentNullException.ThrowIfNull(options);
        Backend = new GpuBackendInfo(BackendName, Simulated: true, reason);
        Gpus = Enumerable.Range(0, options.GpuCount)
            .Select(index => new GpuInfo(index, UuidFor(nodeId, index), options.Model, options.MemoryMiB, Simulated: true))
            .ToArray();
    }

    public GpuBackendInfo Backend { get; }

    public IReadOnlyList<GpuInfo> Gpus { get; }

    /// <summary>
    /// What the simulator knows is the ledger, so that is what it reports: a GPU's used memory is the memory bound to
    /// slices on it, and its utilisation the sum of those slices' compute shares (at most 100 %), as if every bound
    /// slice ran flat out. No processes (a binding names a kernel, not a pid), no driver, no MIG. Every reading is
    /// marked <see cref="GpuReading.Simulated"/>.
    /// </summary>
    public Task<IReadOnlyList<GpuReading>> ReadAsync(IReadOnlyList<BindingInfo> bindings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bindings);
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<GpuReading> readings =
        [
            .. Gpus.Select(gpu =>
            {
                var onGpu = bindings.Where(binding => binding.Gpu.Index == gpu.Index).ToArray();
                return new GpuReading(
                    gpu.Index,
                    gpu.Uuid,
                    Simulated: true,
                    MemoryUsedMiB: onGpu.Sum(binding => binding.MemoryMiB),
                    UtilizationPercent: Math.Min(100, onGpu.Sum(binding => binding.ComputePercent)),
                    DriverVersion: null,
                    Processes: [],
                    Mig: null);
            }),
        ];
        return Task.FromResult(readings);
    }

    /// <summary>
    /// Derived from the node id and index only, so a restarted agent reports the same GPUs and the broker can
    /// match its leases to them.
    /// </summary>
    internal static string UuidFor(string nodeId, int index)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{nodeId}/{index}")));
        var hex = Convert.ToHexStringLower(hash.AsSpan(0, 16));
        return $"{UuidPrefix}{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..32]}";
    }
}
