namespace Attach.Contracts.Pool;

/// <summary>A process using a GPU, in <see cref="GpuReading.Processes"/>.</summary>
/// <param name="Pid">Its process id (in the driver's, i.e. the host's, pid namespace).</param>
/// <param name="Name">Its command line as the driver reports it; null when hidden (e.g. from another container).</param>
/// <param name="Type"><c>C</c> (compute), <c>G</c> (graphics) or <c>C+G</c>.</param>
/// <param name="UsedMemoryMiB">Device memory it holds; null when the driver does not report it (e.g. on WDDM).</param>
/// <param name="GpuInstanceId">Its MIG GPU instance; null outside MIG.</param>
/// <param name="ComputeInstanceId">Its MIG compute instance; null outside MIG.</param>
public sealed record GpuProcessReading(int Pid, string? Name, string? Type, long? UsedMemoryMiB, int? GpuInstanceId, int? ComputeInstanceId);
