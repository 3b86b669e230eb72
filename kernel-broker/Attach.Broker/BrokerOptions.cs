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

    /// <summary>
    /// A node whose agent sends no heartbeat for this long is declared dead: every lease on it is reclaimed (its
    /// kernels go to Failed and say why) and it gets nothing until its agent sends a heartbeat again. Longer than
    /// <see cref="NodeStaleAfter"/>, so a short hiccup only pauses placement.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:02", "1.00:00:00")]
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Which user a process's uid belongs to, for sessions the broker first hears of from the process shim
    /// (a kernel VS Code started from the attach kernelspec, a script): uid → user name, e.g.
    /// <c>Broker__UidOwners__1000=ada</c>. A uid not listed owns its sessions as <c>uid-N</c>.
    /// </summary>
    public Dictionary<string, string> UidOwners { get; set; } = [];

    /// <summary>The owner of a new session whose first process runs as <paramref name="uid"/>.</summary>
    public string OwnerForUid(long uid) =>
        UidOwners.TryGetValue(uid.ToString(System.Globalization.CultureInfo.InvariantCulture), out var user) && user.Length > 0 ? user : $"uid-{uid}";
}
