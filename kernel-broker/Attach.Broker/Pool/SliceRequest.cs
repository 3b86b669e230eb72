namespace Attach.Broker.Pool;

/// <summary>How much of a GPU a kernel asks for.</summary>
/// <param name="MemoryMiB">Device memory.</param>
/// <param name="ComputePercent">Share of the SMs.</param>
/// <param name="NodeId">The node the slice must be on (a process already running there); null for any node.</param>
internal readonly record struct SliceRequest(long MemoryMiB, int ComputePercent, string? NodeId = null);
