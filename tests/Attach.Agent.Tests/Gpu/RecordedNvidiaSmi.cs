using Attach.Agent.Gpu;

namespace Attach.Agent.Tests.Gpu;

/// <summary>Answers the backend's two queries with recorded output, or fails the way the real tool can.</summary>
internal sealed class RecordedNvidiaSmi(string csv, string xml) : INvidiaSmi
{
    /// <summary>An empty <c>-q -x</c> log, for tests about the CSV alone.</summary>
    public const string EmptyLog = "<?xml version=\"1.0\" ?>\n<nvidia_smi_log>\n</nvidia_smi_log>\n";

    private int _calls;

    /// <summary>When set, every call fails with it.</summary>
    public string? Failure { get; set; }

    public int Calls => Volatile.Read(ref _calls);

    public Task<string> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (Failure is { } failure)
        {
            throw new NvidiaSmiException(failure);
        }

        return Task.FromResult(arguments[0].StartsWith("--query-gpu=", StringComparison.Ordinal) ? csv : xml);
    }
}
