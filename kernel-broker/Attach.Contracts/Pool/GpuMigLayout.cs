namespace Attach.Contracts.Pool;

/// <summary>The MIG instances of one GPU in MIG mode, in <see cref="NodeHeartbeat.Mig"/>: the broker hands each out whole as a fixed slice.</summary>
/// <param name="GpuIndex">The GPU's index on the node.</param>
/// <param name="Instances">Its MIG devices, as the agent last read them.</param>
public sealed record GpuMigLayout(int GpuIndex, IReadOnlyList<MigInstanceReading> Instances);
