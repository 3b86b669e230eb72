using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Suspend;

/// <summary>Suspend to host and resume (section <c>Agent:Suspend</c>; environment <c>Agent__Suspend__…</c>).</summary>
internal sealed class SuspendOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Agent:Suspend";

    /// <summary><c>auto</c>, <c>cudaCheckpoint</c> or <c>simulated</c>.</summary>
    public SuspendBackendMode Backend { get; set; } = SuspendBackendMode.Auto;

    /// <summary>NVIDIA's <c>cuda-checkpoint</c>: a bare name is looked up on <c>PATH</c>.</summary>
    [Required(ErrorMessage = "Agent:Suspend:CudaCheckpointPath must not be empty; it defaults to cuda-checkpoint (looked up on PATH).")]
    public string CudaCheckpointPath { get; set; } = "cuda-checkpoint";

    /// <summary>
    /// How long <c>cuda-checkpoint --action lock</c> may wait for the process's submitted CUDA work to finish
    /// (its own <c>--timeout</c>); a kernel still running after that is left running.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true,
        ErrorMessage = "Agent:Suspend:LockTimeout must be between 00:00:01 and 00:10:00.")]
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longest a checkpoint or restore may take. Killing <c>cuda-checkpoint</c> part-way can leave the driver out
    /// of step with the process, so this is a last resort, well above any real transfer (80 GB over a slow
    /// host link is under a minute).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "01:00:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true,
        ErrorMessage = "Agent:Suspend:TransferTimeout must be between 00:00:10 and 01:00:00.")]
    public TimeSpan TransferTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Longest <c>--get-state</c>, <c>unlock</c> and <c>--help</c> may take.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true,
        ErrorMessage = "Agent:Suspend:CommandTimeout must be between 00:00:01 and 00:10:00.")]
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The simulated model's costs.</summary>
    [Required]
    [ValidateObjectMembers]
    public SimulatedSuspendOptions Simulated { get; set; } = new();
}
