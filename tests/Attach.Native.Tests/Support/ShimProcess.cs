using System.Diagnostics;

namespace Attach.Native.Tests.Support;

/// <summary>A program started with the shim preloaded: its output line by line, its exit, and SIGKILL.</summary>
internal sealed class ShimProcess : IAsyncDisposable
{
    /// <summary>How long a test waits for anything a process or the agent should do at once.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly Lock _lock = new();
    private readonly List<string> _output = [];
    private readonly List<string> _errors = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _outputEnded;
    private bool _errorsEnded;

    private ShimProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_lock)
            {
                return [.. _output];
            }
        }
    }

    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_lock)
            {
                return [.. _errors];
            }
        }
    }

    public static ShimProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = start };
        var shim = new ShimProcess(process);
        process.OutputDataReceived += (_, line) => shim.Add(shim._output, line.Data, stdout: true);
        process.ErrorDataReceived += (_, line) => shim.Add(shim._errors, line.Data, stdout: false);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return shim;
    }

    /// <summary>The first standard-output line that contains <paramref name="text"/>.</summary>
    public Task<string> OutputLineAsync(string text) => LineAsync(stdout: true, text);

    /// <summary>The first standard-error line that contains <paramref name="text"/>.</summary>
    public Task<string> ErrorLineAsync(string text) => LineAsync(stdout: false, text);

    /// <summary>The exit code; throws (with the output) when the process does not exit in time.</summary>
    public async Task<int> ExitCodeAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the process did not exit within {Patience}.\n{Transcript()}");
        }

        return _process.ExitCode;
    }

    /// <summary>Ends its standard input (the programs' "hold" mode waits for that).</summary>
    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>SIGKILL: no exit handler runs; only the kernel closes its files.</summary>
    public void Kill() => _process.Kill();

    public string Transcript()
    {
        lock (_lock)
        {
            return "stdout:\n  " + string.Join("\n  ", _output) + "\nstderr:\n  " + string.Join("\n  ", _errors);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Add(List<string> lines, string? line, bool stdout)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            if (line is null)
            {
                if (stdout)
                {
                    _outputEnded = true;
                }
                else
                {
                    _errorsEnded = true;
                }
            }
            else
            {
                lines.Add(line);
            }

            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private async Task<string> LineAsync(bool stdout, string text)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                var lines = stdout ? _output : _errors;
                if (lines.FirstOrDefault(line => line.Contains(text, StringComparison.Ordinal)) is { } found)
                {
                    return found;
                }

                if (stdout ? _outputEnded : _errorsEnded)
                {
                    throw new InvalidOperationException($"the process ended its {(stdout ? "stdout" : "stderr")} without a line containing '{text}'.\n{Transcript()}");
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no line containing '{text}' within {Patience}.\n{Transcript()}");
            }
        }
    }
}
