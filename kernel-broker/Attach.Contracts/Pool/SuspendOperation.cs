using System.Text.Json.Serialization;

namespace Attach.Contracts.Pool;

/// <summary>What an agent did to a bound process's CUDA state.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SuspendOperation>))]
public enum SuspendOperation
{
    /// <summary>Lock, then checkpoint: device memory copied to host memory, the GPU freed.</summary>
    Suspend,

    /// <summary>Restore (possibly onto another GPU of the same model), then unlock.</summary>
    Resume,
}
