namespace Attach.Broker.Persistence;

/// <summary>A kernel the broker knows, and the user who first used it.</summary>
internal sealed record StoredKernel(string KernelId, string Owner);
