using System.Text.Json.Serialization;

namespace Attach.Contracts.Kernels;

/// <summary>Where a kernel stands with respect to GPUs. Later issues add Queued, Suspending, Suspended and Resuming.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<KernelState>))]
public enum KernelState
{
    /// <summary>No GPU is bound to the kernel.</summary>
    Detached,

    /// <summary>The broker is placing a slice and the agent is binding it.</summary>
    Attaching,

    /// <summary>A slice is bound; the kernel may be busy or idle.</summary>
    Attached,

    /// <summary>The slice is being returned to the pool.</summary>
    Releasing,

    /// <summary>The last attach or release failed; <see cref="KernelStatus.Reason"/> says why.</summary>
    Failed,
}
