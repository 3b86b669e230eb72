namespace Attach.Native.Tests.Support;

/// <summary>How a <see cref="FakeAgent"/> answers.</summary>
internal sealed class FakeAgentBehavior
{
    /// <summary>False: accept connections and read the hello, but never answer it.</summary>
    public bool AnswerHello { get; init; } = true;

    /// <summary>Queue positions sent before the grant (e.g. 2, 1).</summary>
    public IReadOnlyList<int> QueuePositions { get; init; } = [];

    /// <summary>False: after the queue positions, keep the request waiting for ever.</summary>
    public bool Grant { get; init; } = true;

    /// <summary>Set: refuse every request with this error code (and <see cref="RefusalMessage"/>).</summary>
    public string? RefusalCode { get; init; }

    public string RefusalMessage { get; init; } = "The broker does not know this session.";

    /// <summary>Set: right after the grant, revoke the lease with this reason.</summary>
    public string? RevokeReason { get; init; }
}
