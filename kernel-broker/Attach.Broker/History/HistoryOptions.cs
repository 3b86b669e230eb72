using System.ComponentModel.DataAnnotations;

namespace Attach.Broker.History;

/// <summary>How often the pool is sampled and how long samples are kept (section <c>Broker:History</c>).</summary>
internal sealed class HistoryOptions
{
    public const string Section = BrokerOptions.Section + ":History";

    /// <summary>Time between two samples of the pool's occupancy.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How far back the history reaches; older samples are overwritten (memory stays bounded).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The number of samples the ring buffer holds.</summary>
    public int Capacity => (int)Math.Max(2, Math.Ceiling(Retention / SampleInterval));
}
