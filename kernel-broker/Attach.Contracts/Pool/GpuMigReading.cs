namespace Attach.Contracts.Pool;

/// <summary>A MIG-capable GPU's mode and instances, in <see cref="GpuReading.Mig"/>.</summary>
/// <param name="Enabled">True when MIG mode is on (the current mode, not a pending change).</param>
/// <param name="Instances">The MIG devices; empty when MIG is off.</param>
public sealed record GpuMigReading(bool Enabled, IReadOnlyList<MigInstanceReading> Instances);
