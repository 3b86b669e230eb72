namespace Attach.Gateway.Channels.Protocol;

/// <summary>The four kernel channels a kernel-channel WebSocket multiplexes.</summary>
internal static class KernelChannelNames
{
    public const string Shell = "shell";
    public const string IoPub = "iopub";
    public const string Stdin = "stdin";
    public const string Control = "control";

    /// <summary>
    /// Returns the shared string for a known channel given its UTF-8 bytes, or null, so that
    /// the per-message hot path allocates nothing for the channel name.
    /// </summary>
    public static string? FromUtf8(ReadOnlySpan<byte> utf8)
    {
        if (utf8.SequenceEqual("shell"u8))
        {
            return Shell;
        }

        if (utf8.SequenceEqual("iopub"u8))
        {
            return IoPub;
        }

        if (utf8.SequenceEqual("stdin"u8))
        {
            return Stdin;
        }

        return utf8.SequenceEqual("control"u8) ? Control : null;
    }

    /// <summary>Returns the shared string for a known channel name, or null.</summary>
    public static string? FromString(string name) => name switch
    {
        Shell => Shell,
        IoPub => IoPub,
        Stdin => Stdin,
        Control => Control,
        _ => null,
    };
}
