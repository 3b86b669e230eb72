using System.Text.Json.Serialization;

namespace Attach.Contracts.Pool;

/// <summary>
/// The CUDA state of a process, as NVIDIA's <c>cuda-checkpoint --get-state</c> prints it (the driver's
/// <c>CUprocessState</c>).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<CudaProcessState>))]
public enum CudaProcessState
{
    /// <summary>CUDA runs normally; the process holds its device memory on the GPU.</summary>
    Running,

    /// <summary>CUDA calls are blocked and submitted work has finished; device memory is still on the GPU.</summary>
    Locked,

    /// <summary>Device memory has been copied to host memory and every GPU resource has been released.</summary>
    Checkpointed,

    /// <summary>A checkpoint or restore failed part-way; the driver cannot continue with this process.</summary>
    Failed,
}
