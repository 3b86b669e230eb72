using System.Buffers.Binary;
using System.Text;

namespace Attach.Native.Tests.Support;

/// <summary>
/// The shim protocol's framing (docs/shim-protocol.md), written again from the document rather than borrowed from
/// the agent: a test of the C client against the document, not against one implementation of it.
/// </summary>
internal static class ShimWire
{
    public const byte Hello = 0x01;
    public const byte RequestLease = 0x02;
    public const byte Release = 0x03;
    public const byte Bye = 0x04;
    public const byte Error = 0x80;
    public const byte Welcome = 0x81;
    public const byte Queued = 0x82;
    public const byte Granted = 0x83;
    public const byte Released = 0x84;
    public const byte Revoke = 0x85;

    public const int HeaderLength = 5;
    public const int MaxBodyLength = 65536;

    public static byte[] Encode(byte type, IEnumerable<KeyValuePair<string, string>> fields)
    {
        var body = new List<byte>();
        foreach (var (key, value) in fields)
        {
            body.AddRange(Encoding.UTF8.GetBytes($"{key}={value}"));
            body.Add(0);
        }

        var frame = new byte[HeaderLength + body.Count];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)body.Count);
        frame[4] = type;
        body.CopyTo(frame, HeaderLength);
        return frame;
    }

    /// <summary>The fields of a body; throws when it is not a list of distinct key=value\0 fields.</summary>
    public static Dictionary<string, string> Decode(ReadOnlySpan<byte> body)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        if (body.Length > 0 && body[^1] != 0)
        {
            throw new InvalidDataException("the body does not end with NUL");
        }

        while (!body.IsEmpty)
        {
            var end = body.IndexOf((byte)0);
            var field = Encoding.UTF8.GetString(body[..end]);
            body = body[(end + 1)..];
            var equals = field.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new InvalidDataException($"field '{field}' is not key=value");
            }

            if (!fields.TryAdd(field[..equals], field[(equals + 1)..]))
            {
                throw new InvalidDataException($"field '{field[..equals]}' appears twice");
            }
        }

        return fields;
    }
}
