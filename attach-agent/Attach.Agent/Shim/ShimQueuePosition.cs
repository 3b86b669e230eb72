namespace Attach.Agent.Shim;

/// <summary>Where a waiting request stands.</summary>
/// <param name="Position">1-based place in the broker's queue.</param>
/// <param name="Eta">The broker's estimate of the wait, when it has one.</param>
internal sealed record ShimQueuePosition(int Position, TimeSpan? Eta);
