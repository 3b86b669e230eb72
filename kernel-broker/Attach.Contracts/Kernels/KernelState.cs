using System.Text.Json.Serialization;

namespace Attach.Contracts.Kernels;

/// <summary>Where a kernel stands with respect to GPUs (DESIGN.md, per-kernel state machine).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<KernelState>))]
public enum KernelState
{
    /// <summary>No GPU is bound to the kernel.</summary>
    Detached,

    /// <summary>The kernel waits in the pool's queue; <see cref="KernelStatus.QueuePosition"/> and <see cref="KernelStatus.EtaSeconds"/> say where and how long.</summary>
    Queued,

    /// <summary>The broker is placing a slice and the agent is binding it.</summary>
    Attaching,

    /// <summary>A slice is bound; the kernel may be busy or idle.</summary>
    Attached,

    /// <summary>The agent is copying the process's device memory to host memory before the slice is returned.</summary>
    Suspending,

    /// <summary>No GPU is bound, but the process's CUDA state is kept in host memory (<see cref="KernelStatus.SuspendedBytes"/>).</summary>
    Suspended,

    /// <summary>A slice is bound again and the agent is restoring the CUDA state onto it.</summary>
    Resuming,

    /// <summary>The slice is being returned to the pool.</summary>
    Releasing,

    /// <summary>The last attach or release failed; <see cref="KernelStatus.Reason"/> says why.</summary>
    Failed,
}
