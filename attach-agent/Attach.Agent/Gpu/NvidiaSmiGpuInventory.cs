using Attach.Contracts.Pool;

namespace Attach.Agent.Gpu;

/// <summary>
/// The node's NVIDIA GPUs, read through <c>nvidia-smi</c>: the CSV query for identity, memory and utilisation,
/// <c>-q -x</c> for processes and MIG devices, joined by UUID.
/// </summary>
/// <remarks>
/// Why <c>nvidia-smi</c> rather than NVML through P/Invoke: its output is text, so the parsers are pure functions,
/// tested on recordings of real drivers kept under <c>tests/</c> on machines without a GPU; NVML's structs and
/// versioned entry points change between driver branches, and a wrong P/Invoke layout corrupts memory silently
/// where a renamed nvidia-smi field fails loudly in a parser; nvidia-smi ships with every driver and needs no
/// native library resolution in containers. The cost, a process start per query (tens to a few hundred
/// milliseconds), is paid in the background every few seconds, never on a request path.
/// </remarks>
internal sealed class NvidiaSmiGpuInventory : IGpuInventory
{
    /// <summary>The backend's name in <see cref="GpuBackendInfo.Name"/>.</summary>
    public const string BackendName = "nvidia-smi";

    private readonly INvidiaSmi _nvidiaSmi;

    private NvidiaSmiGpuInventory(INvidiaSmi nvidiaSmi, GpuBackendInfo backend, IReadOnlyList<GpuInfo> gpus, string? driverVersion)
    {
        _nvidiaSmi = nvidiaSmi;
        Backend = backend;
        Gpus = gpus;
        DriverVersion = driverVersion;
    }

    public GpuBackendInfo Backend { get; }

    public IReadOnlyList<GpuInfo> Gpus { get; }

    /// <summary>The driver's version when the agent started; null when nvidia-smi did not say.</summary>
    public string? DriverVersion { get; }

    /// <summary>Lists the GPUs once; the list is fixed for the agent's life (a GPU that falls off the bus needs a restart).</summary>
    /// <param name="nvidiaSmi">Runs nvidia-smi.</param>
    /// <param name="evidence">What made the agent choose this backend; the reason adds what nvidia-smi found.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="NvidiaSmiException">nvidia-smi failed or lists no GPU.</exception>
    /// <exception cref="FormatException">nvidia-smi printed something the parser does not understand.</exception>
    public static async Task<NvidiaSmiGpuInventory> CreateAsync(INvidiaSmi nvidiaSmi, string evidence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(nvidiaSmi);
        var rows = NvidiaSmiCsvParser.Parse(await nvidiaSmi.RunAsync(NvidiaSmiCsvParser.Arguments, cancellationToken));
        if (rows.Count == 0)
        {
            throw new NvidiaSmiException("nvidia-smi ran but lists no GPU.");
        }

        var driverVersion = rows[0].DriverVersion;
        var reason = $"{evidence}; nvidia-smi lists {rows.Count} GPU(s), driver {driverVersion ?? "unknown"}";
        var gpus = rows.Select(row => new GpuInfo(row.Index, row.Uuid, row.Name, row.MemoryTotalMiB, Simulated: false)).ToArray();
        return new NvidiaSmiGpuInventory(nvidiaSmi, new GpuBackendInfo(BackendName, Simulated: false, reason), gpus, driverVersion);
    }

    public async Task<IReadOnlyList<GpuReading>> ReadAsync(IReadOnlyList<BindingInfo> bindings, CancellationToken cancellationToken)
    {
        var rows = NvidiaSmiCsvParser.Parse(await _nvidiaSmi.RunAsync(NvidiaSmiCsvParser.Arguments, cancellationToken));
        var log = NvidiaSmiXmlParser.Parse(await _nvidiaSmi.RunAsync(NvidiaSmiXmlParser.Arguments, cancellationToken));
        var migUuids = log.Gpus.Any(gpu => gpu.MigInstances.Count > 0)
            ? NvidiaSmiListParser.ParseMigUuids(await _nvidiaSmi.RunAsync(NvidiaSmiListParser.Arguments, cancellationToken))
            : null;
        return Join(rows, log, migUuids);
    }

    /// <summary>
    /// One reading per CSV row; the XML adds processes and MIG devices for the GPU with the same UUID and fills what
    /// the CSV left out. <paramref name="migUuids"/> (from <c>nvidia-smi -L</c>) gives each MIG device its UUID.
    /// </summary>
    internal static IReadOnlyList<GpuReading> Join(
        IReadOnlyList<NvidiaSmiGpuRow> rows,
        NvidiaSmiLog log,
        IReadOnlyDictionary<string, IReadOnlyDictionary<int, string>>? migUuids = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(log);
        return
        [
            .. rows.Select(row =>
            {
                var detail = log.Gpus.FirstOrDefault(gpu => string.Equals(gpu.Uuid, row.Uuid, StringComparison.OrdinalIgnoreCase));
                var migMode = row.MigMode ?? detail?.MigMode;
                var mig = migMode is null
                    ? null
                    : string.Equals(migMode, "Enabled", StringComparison.OrdinalIgnoreCase)
                        ? new GpuMigReading(Enabled: true, WithUuids(detail?.MigInstances ?? [], row.Uuid, migUuids))
                        : new GpuMigReading(Enabled: false, []);
                return new GpuReading(
                    row.Index,
                    row.Uuid,
                    Simulated: false,
                    row.MemoryUsedMiB ?? detail?.MemoryUsedMiB,
                    row.UtilizationPercent ?? detail?.UtilizationPercent,
                    row.DriverVersion ?? log.DriverVersion,
                    detail?.Processes ?? [],
                    mig);
            }),
        ];
    }

    private static IReadOnlyList<MigInstanceReading> WithUuids(
        IReadOnlyList<MigInstanceReading> instances,
        string gpuUuid,
        IReadOnlyDictionary<string, IReadOnlyDictionary<int, string>>? migUuids)
    {
        if (migUuids is null || !migUuids.TryGetValue(gpuUuid, out var byIndex))
        {
            return instances;
        }

        return [.. instances.Select(instance => byIndex.TryGetValue(instance.Index, out var uuid) ? instance with { Uuid = uuid } : instance)];
    }
}
