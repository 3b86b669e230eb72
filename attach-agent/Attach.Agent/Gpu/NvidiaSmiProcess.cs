using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Attach.Agent.Gpu;

/// <summary>Runs the real <c>nvidia-smi</c> found on <c>PATH</c>, with a deadline.</summary>
internal sealed class NvidiaSmiProcess(INvidiaDeviceProbe probe, TimeProvider timeProvider) : INvidiaSmi
{
    /// <summary>
    /// How long one call may take. A healthy driver answers in well under a second even with 8 GPUs; one that
    /// takes this long is hung (an Xid error, a GPU fallen off the bus), and waiting longer would only stall readings.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);

    public async Task<string> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var path = probe.FindNvidiaSmi()
            ?? throw new NvidiaSmiException("nvidia-smi is not on PATH. Install the NVIDIA driver's utilities or add the directory that holds nvidia-smi to the agent's PATH.");
        var command = $"{path} {string.Join(' ', arguments)}";
        var startInfo = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception exception)
        {
            throw new NvidiaSmiException($"{path} could not be started: {exception.Message}.", exception);
        }

        using var deadline = new CancellationTokenSource(Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        string output;
        string error;
        try
        {
            var outputTask = process.StandardOutput.ReadToEndAsync(linked.Token);
            var errorTask = process.StandardError.ReadToEndAsync(linked.Token);
            await process.WaitForExitAsync(linked.Token);
            output = await outputTask;
            error = await errorTask;
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            Kill(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new NvidiaSmiException(
                $"{command} did not finish within {Timeout.TotalSeconds:0.#} s and was stopped. The driver may be hung: check the kernel log (dmesg) for NVIDIA Xid errors.");
        }

        if (process.ExitCode != 0)
        {
            // nvidia-smi prints most failures ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA
            // driver…") on stdout, not stderr.
            var said = FirstLine(error) ?? FirstLine(output) ?? "it printed nothing";
            throw new NvidiaSmiException($"{command} exited with code {process.ExitCode}: {said}");
        }

        return output;
    }

    private static string? FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
    }
}
