namespace Attach.Agent.Gpu;

/// <summary>
/// Runs <c>nvidia-smi</c>. The seam between the NVIDIA backend and the process: tests answer with recorded output.
/// </summary>
internal interface INvidiaSmi
{
    /// <summary>Runs <c>nvidia-smi</c> with <paramref name="arguments"/> and returns what it printed on stdout.</summary>
    /// <exception cref="NvidiaSmiException">It is not installed, could not start, did not finish in time, or failed.</exception>
    Task<string> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken);
}
