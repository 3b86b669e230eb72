using System.Buffers.Binary;
using System.Text;

namespace Attach.Gateway.Tests.Channels;

/// <summary>Hand-built frames for the malformed cases, laid out as jupyter_server lays them out.</summary>
internal static class TestFrames
{
    public const string Header = """{"msg_id":"m1","msg_type":"kernel_info_request","session":"s1","username":"u","date":"2024-01-01T00:00:00Z","version":"5.3"}""";

    /// <summary>A v1 frame as serialize_msg_to_ws_v1 writes it: offset_number, offsets, channel, parts.</summary>
    public static byte[] V1(byte[] channel, params byte[][] parts)
    {
        var offsetNumber = 2 + parts.Length;
        var offsets = new List<long> { 8L * (offsetNumber + 1) };
        offsets.Add(offsets[^1] + channel.Length);
        foreach (var part in parts)
        {
            offsets.Add(offsets[^1] + part.Length);
        }

        var frame = new byte[offsets[^1]];
        BinaryPrimitives.WriteUInt64LittleEndian(frame, (ulong)offsetNumber);
        for (var i = 0; i < offsets.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(8 * (i + 1)), (ulong)offsets[i]);
        }

        channel.CopyTo(frame, (int)offsets[0]);
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i].CopyTo(frame, (int)offsets[i + 1]);
        }

        return frame;
    }

    public static byte[] V1(string channel, string header, string parentHeader = "{}", string metadata = "{}", string content = "{}") =>
        V1(Utf8(channel), Utf8(header), Utf8(parentHeader), Utf8(metadata), Utf8(content));

    /// <summary>A legacy binary frame as serialize_binary_message writes it.</summary>
    public static byte[] LegacyBinary(byte[] json, params byte[][] buffers)
    {
        var parts = new List<byte[]> { json };
        parts.AddRange(buffers);
        var offsets = new List<int> { 4 * (parts.Count + 1) };
        for (var i = 0; i + 1 < parts.Count; i++)
        {
            offsets.Add(offsets[^1] + parts[i].Length);
        }

        var frame = new byte[offsets[^1] + parts[^1].Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)parts.Count);
        for (var i = 0; i < offsets.Count; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4 * (i + 1)), (uint)offsets[i]);
        }

        for (var i = 0; i < parts.Count; i++)
        {
            parts[i].CopyTo(frame, offsets[i]);
        }

        return frame;
    }

    public static string LegacyJson(string channel = "\"shell\"", string header = Header, string parentHeader = "{}", string content = "{}") =>
        $$"""{"header":{{header}},"parent_header":{{parentHeader}},"metadata":{},"content":{{content}},"channel":{{channel}}}""";

    public static byte[] Utf8(string value) => Encoding.UTF8.GetBytes(value);

    public static void WriteV1Offset(byte[] frame, int index, ulong value) =>
        BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(8 * (index + 1)), value);
}
