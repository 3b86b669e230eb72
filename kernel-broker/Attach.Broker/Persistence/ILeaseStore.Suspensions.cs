using Attach.Broker.Kernels;

namespace Attach.Broker.Persistence;

/// <summary>The kernels suspended to host memory (migration 4), so a restart keeps them Suspended.</summary>
internal partial interface ILeaseStore
{
    /// <summary>Every kernel whose process the broker suspended and has not resumed, read once at startup.</summary>
    IReadOnlyList<StoredSuspension> LoadSuspensions();

    /// <summary>Records the kernel's suspended process, or (null) that it has none any more.</summary>
    void SetSuspension(string kernelId, SuspendedProcess? suspension);
}

/// <summary>A kernel and the process the broker suspended for it.</summary>
internal sealed record StoredSuspension(string KernelId, SuspendedProcess Process);
