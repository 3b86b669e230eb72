using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Unicode;

namespace Attach.Gateway.Channels.Protocol;

/// <summary>
/// Reads the fields the gateway decides on from one kernel-channel WebSocket message, in either
/// wire protocol and in either direction, without copying the frame.
/// </summary>
/// <remarks>
/// The formats are those of jupyter_server 1.23 (<c>zmqhandlers.py</c>: serialize_binary_message,
/// serialize_msg_to_ws_v1 and their inverses) and JupyterLab 4 (<c>serialize.ts</c>). The parser is
/// strict about anything that would index outside the frame and lenient where the two encoders or
/// the Python decoders are: a gap between the offset table and the first part, bytes after the last
/// v1 part, a legacy message without "channel" (the server assumes shell), an empty or null
/// parent_header, any key order. Content is read only for execute_request and status; for v1 the
/// other messages' content, and for both protocols the metadata and buffers, are never decoded.
/// </remarks>
internal static partial class KernelMessageParser
{
    /// <summary>
    /// The largest header or parent_header accepted. Real headers are a few hundred bytes; the
    /// cap bounds what the gateway keeps per request and re-embeds in every message it injects.
    /// </summary>
    public const int MaxHeaderBytes = 64 * 1024;

    // v1 parts before any buffer: channel, header, parent_header, metadata, content → 6 offsets.
    private const int V1MinOffsetNumber = 6;

    private const int ErrorValueMaxChars = 40;

    /// <summary>Parses one WebSocket message. Never throws on malformed input.</summary>
    /// <param name="frame">The whole WebSocket message payload.</param>
    /// <param name="isText">Whether it arrived as a text frame.</param>
    /// <param name="protocol">The protocol negotiated for the socket.</param>
    /// <param name="summary">The message's routing fields, when the message is well formed.</param>
    /// <param name="error">A short description of what is wrong, when it is not.</param>
    /// <returns>True when the message is well formed.</returns>
    public static bool TryParse(
        ReadOnlyMemory<byte> frame,
        bool isText,
        KernelWireProtocol protocol,
        [NotNullWhen(true)] out KernelMessageSummary? summary,
        [NotNullWhen(false)] out string? error)
    {
        summary = null;
        if (frame.IsEmpty)
        {
            error = "empty frame";
            return false;
        }

        MessageParts parts;
        bool split;
        switch (protocol)
        {
            case KernelWireProtocol.V1 when isText:
                // jupyter_server's v1 on_message slices bytes; a text frame is a client bug.
                parts = default;
                error = "v1 frames must be binary, got a text frame";
                split = false;
                break;
            case KernelWireProtocol.V1:
                split = TrySplitV1(frame, out parts, out error);
                break;
            case KernelWireProtocol.Legacy when isText:
                split = TrySplitLegacyJson(frame, out parts, out error);
                break;
            case KernelWireProtocol.Legacy:
                split = TrySplitLegacyBinary(frame, out parts, out error);
                break;
            default:
                parts = default;
                error = $"unknown wire protocol {protocol}";
                split = false;
                break;
        }

        return split && TrySummarize(parts, out summary, out error);
    }

    /// <summary>
    /// v1: uint64 LE offset_number, then offset_number uint64 LE offsets from the frame start; part i
    /// is [offset i, offset i+1): channel, header, parent_header, metadata, content, buffers.
    /// </summary>
    private static bool TrySplitV1(ReadOnlyMemory<byte> frame, out MessageParts parts, [NotNullWhen(false)] out string? error)
    {
        parts = default;
        var span = frame.Span;
        if (span.Length < sizeof(ulong))
        {
            error = $"v1 frame of {span.Length} bytes is shorter than its offset_number";
            return false;
        }

        var offsetNumber = BinaryPrimitives.ReadUInt64LittleEndian(span);
        var maxOffsetNumber = (ulong)(span.Length / sizeof(ulong) - 1);
        if (offsetNumber > maxOffsetNumber)
        {
            error = $"v1 offset_number {offsetNumber} does not fit in a {span.Length}-byte frame";
            return false;
        }

        if (offsetNumber < V1MinOffsetNumber)
        {
            error = $"v1 offset_number {offsetNumber} is below {V1MinOffsetNumber} (channel, header, parent_header, metadata, content)";
            return false;
        }

        var count = (int)offsetNumber;
        if (!TryValidateOffsets(span, count, sizeof(ulong), "v1", out error))
        {
            return false;
        }

        var channelBytes = span[V1Offset(span, 0)..V1Offset(span, 1)];
        var channel = KernelChannelNames.FromUtf8(channelBytes);
        if (channel is null)
        {
            error = Utf8.IsValid(channelBytes)
                ? $"unknown channel '{Describe(Encoding.UTF8.GetString(channelBytes[..Math.Min(channelBytes.Length, ErrorValueMaxChars * 4)]))}'"
                : "v1 channel is not valid UTF-8";
            return false;
        }

        parts = new MessageParts(
            channel,
            V1Part(frame, 1),
            V1Part(frame, 2),
            HasParentHeader: true,
            V1Part(frame, 4),
            HasContent: true);
        return true;
    }

    /// <summary>
    /// Legacy binary: uint32 BE part count, then that many uint32 BE start offsets; each part ends
    /// where the next starts, the last at the frame end. Part 0 is the JSON message.
    /// </summary>
    private static bool TrySplitLegacyBinary(ReadOnlyMemory<byte> frame, out MessageParts parts, [NotNullWhen(false)] out string? error)
    {
        parts = default;
        var span = frame.Span;
        if (span.Length < sizeof(uint))
        {
            error = $"legacy binary frame of {span.Length} bytes is shorter than its part count";
            return false;
        }

        var partCount = BinaryPrimitives.ReadUInt32BigEndian(span);
        if (partCount == 0)
        {
            error = "legacy binary frame declares no parts";
            return false;
        }

        if (partCount > (uint)((span.Length - sizeof(uint)) / sizeof(uint)))
        {
            error = $"legacy part count {partCount} does not fit in a {span.Length}-byte frame";
            return false;
        }

        var count = (int)partCount;
        if (!TryValidateOffsets(span, count, sizeof(uint), "legacy", out error))
        {
            return false;
        }

        var jsonStart = LegacyOffset(span, 0);
        var jsonEnd = count > 1 ? LegacyOffset(span, 1) : span.Length;
        return TrySplitLegacyJson(frame[jsonStart..jsonEnd], out parts, out error);
    }

    /// <summary>
    /// Checks that every offset lies inside the frame, that none goes backwards, and that the first
    /// does not point into the offset table itself. After this, every part slice is in range.
    /// </summary>
    private static bool TryValidateOffsets(ReadOnlySpan<byte> span, int count, int width, string protocolName, [NotNullWhen(false)] out string? error)
    {
        var previous = (ulong)(width * (count + 1));
        for (var i = 0; i < count; i++)
        {
            var offset = width == sizeof(ulong)
                ? BinaryPrimitives.ReadUInt64LittleEndian(span[(width * (i + 1))..])
                : BinaryPrimitives.ReadUInt32BigEndian(span[(width * (i + 1))..]);
            if (offset > (ulong)span.Length)
            {
                error = $"{protocolName} offset {i} ({offset}) beyond frame end ({span.Length})";
                return false;
            }

            if (offset < previous)
            {
                error = i == 0
                    ? $"{protocolName} offset 0 ({offset}) points into the offset table"
                    : $"{protocolName} offset {i} ({offset}) is before offset {i - 1} ({previous})";
                return false;
            }

            previous = offset;
        }

        error = null;
        return true;
    }

    // Only called after TryValidateOffsets, so the casts cannot truncate.
    private static int V1Offset(ReadOnlySpan<byte> span, int index) =>
        (int)BinaryPrimitives.ReadUInt64LittleEndian(span[(sizeof(ulong) * (index + 1))..]);

    private static int LegacyOffset(ReadOnlySpan<byte> span, int index) =>
        (int)BinaryPrimitives.ReadUInt32BigEndian(span[(sizeof(uint) * (index + 1))..]);

    private static ReadOnlyMemory<byte> V1Part(ReadOnlyMemory<byte> frame, int index)
    {
        var span = frame.Span;
        return frame[V1Offset(span, index)..V1Offset(span, index + 1)];
    }

    /// <summary>Shortens an attacker-controlled value before it goes into an error message.</summary>
    private static string Describe(string value) =>
        value.Length <= ErrorValueMaxChars ? value : string.Concat(value.AsSpan(0, ErrorValueMaxChars), "...");

    /// <summary>The pieces of a message located by the framing layer; all slices of the frame.</summary>
    private readonly record struct MessageParts(
        string Channel,
        ReadOnlyMemory<byte> Header,
        ReadOnlyMemory<byte> ParentHeader,
        bool HasParentHeader,
        ReadOnlyMemory<byte> Content,
        bool HasContent);
}
