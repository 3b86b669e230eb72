using System.ComponentModel.DataAnnotations;

namespace Attach.Broker;

/// <summary>The broker's policy settings (section <c>Broker</c>).</summary>
internal sealed class BrokerOptions
{
    public const string Section = "Broker";

    /// <summary>How long an attached kernel may stay idle before its slice goes back to the pool.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "7.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Device memory of the slice a GPU cell gets when it does not ask for a size.</summary>
    [Range(256, 4 * 1024 * 1024)]
    public long DefaultSliceMiB { get; set; } = 20 * 1024;

    /// <summary>Share of the GPU's SMs the default slice gets (HAMi-core's <c>CUDA_DEVICE_SM_LIMIT</c>).</summary>
    [Range(1, 100)]
    public int DefaultSliceComputePercent { get; set; } = 25;

    /// <summary>An agent not heard from for this long is left out of placement.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan NodeStaleAfter { get; set; } = TimeSpan.FromSeconds(30);
}
