namespace Attach.Contracts.Kernels;

/// <summary>
/// The slice a kernel's next attach asks for: <c>PUT /api/v1/kernels/{id}/slice-preference</c> with a named profile
/// (<c>{"profile":"half"}</c>: full, half, quarter, or one the broker's configuration adds) or a size
/// (<c>{"memoryMiB":20480}</c>). Exactly one of the two is set.
/// </summary>
/// <param name="Profile">A named slice profile.</param>
/// <param name="MemoryMiB">Device memory in MiB.</param>
public sealed record SlicePreference(string? Profile, long? MemoryMiB);
