namespace Attach.Agent.Gpu;

/// <summary>What the agent reads from <c>nvidia-smi -q -x</c>.</summary>
/// <param name="DriverVersion">The driver's version; null when not printed.</param>
/// <param name="Gpus">Every GPU, in the order printed (nvidia-smi's index order).</param>
internal sealed record NvidiaSmiLog(string? DriverVersion, IReadOnlyList<NvidiaSmiLogGpu> Gpus);
