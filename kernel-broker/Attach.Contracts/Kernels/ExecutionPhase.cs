using System.Text.Json.Serialization;

namespace Attach.Contracts.Kernels;

/// <summary>What a held cell is waiting on, as reported while the broker works on its <see cref="ExecutionRequest"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ExecutionPhase>))]
public enum ExecutionPhase
{
    /// <summary>Nothing fits yet; the request waits in the pool's queue.</summary>
    Queued,

    /// <summary>A slice was chosen and the agent is binding it.</summary>
    Attaching,

    /// <summary>The kernel's CUDA state is being restored from host memory.</summary>
    Resuming,
}
