namespace Attach.Simulation.Consolidation;

/// <summary>How developers get GPUs in one simulated day.</summary>
internal enum ConsolidationPolicy
{
    /// <summary>One whole GPU per developer, held for every session: the baseline (pool = number of developers).</summary>
    OneGpuPerDeveloper,

    /// <summary>A whole GPU per GPU-using kernel, given back after the idle timeout.</summary>
    WholeGpuPooling,

    /// <summary>The session's slice (quarter, half, full), given back after the idle timeout.</summary>
    SlicePooling,

    /// <summary>Slices; an idle kernel is suspended to host memory at once, freeing its slice, and resumed for its next GPU cell.</summary>
    SlicePoolingWithSuspend,
}

internal static class ConsolidationPolicyNames
{
    public static string Describe(this ConsolidationPolicy policy) => policy switch
    {
        ConsolidationPolicy.OneGpuPerDeveloper => "one GPU per developer",
        ConsolidationPolicy.WholeGpuPooling => "whole-GPU pooling",
        ConsolidationPolicy.SlicePooling => "pooling with slices",
        ConsolidationPolicy.SlicePoolingWithSuspend => "slices + suspend-to-host",
        _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, null),
    };
}
