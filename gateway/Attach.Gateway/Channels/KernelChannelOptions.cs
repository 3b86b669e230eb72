using System.ComponentModel.DataAnnotations;

namespace Attach.Gateway.Channels;

/// <summary>Settings of the kernel-channel relay (section <c>Gateway:Channels</c>).</summary>
internal sealed class KernelChannelOptions
{
    public const string Section = "Gateway:Channels";

    /// <summary>
    /// Once one side of a channel has closed, how long the other side has to finish its close before the relay
    /// stops it. Also how long a reconnecting browser waits for its previous channel to hand over a held cell.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan CloseGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a cell held for a GPU is kept after its browser's channel drops, waiting for the browser to
    /// reconnect (same kernel, same session) and take it over, with everything the browser had queued behind it.
    /// After that the cell is dropped, and each message queued behind it is logged by msg_id.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan ReconnectGrace { get; set; } = TimeSpan.FromMinutes(2);
}
