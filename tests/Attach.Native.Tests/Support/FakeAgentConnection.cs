namespace Attach.Native.Tests.Support;

/// <summary>One process's connection to the <see cref="FakeAgent"/>, as the agent saw it.</summary>
internal sealed class FakeAgentConnection(int peerPid)
{
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _granted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _requests;

    /// <summary>The process, from SO_PEERCRED.</summary>
    public int PeerPid { get; } = peerPid;

    /// <summary>The hello's fields; null until it came.</summary>
    public IReadOnlyDictionary<string, string>? Hello { get; set; }

    /// <summary>The last request_lease's fields; null when none came.</summary>
    public IReadOnlyDictionary<string, string>? Request { get; set; }

    public int Requests => Volatile.Read(ref _requests);

    public string? LeaseId { get; set; }

    /// <summary>Completes when the connection ends (the process closed it, exited or was killed).</summary>
    public Task Closed => _closed.Task;

    public Task Granted => _granted.Task;

    public bool IsClosed => _closed.Task.IsCompleted;

    public string Session => Hello?["session"] ?? throw new InvalidOperationException("no hello yet");

    public void CountRequest() => Interlocked.Increment(ref _requests);

    public void MarkGranted() => _granted.TrySetResult();

    public void MarkClosed() => _closed.TrySetResult();
}
