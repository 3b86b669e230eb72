using System.Buffers.Binary;
using System.Text;

namespace Attach.Agent.Shim;

/// <summary>
/// The wire format (docs/shim-protocol.md): a 5-byte header, <c>uint32</c> body length big-endian then the type
/// byte, then the body: zero or more fields, each <c>key=value</c> followed by a NUL byte, the layout of
/// <c>environ</c>. A C client builds it with <c>snprintf</c> and reads it with <c>strchr</c>; nothing needs escaping
/// because no value may contain NUL, which environment variables cannot either.
/// </summary>
internal static class ShimFrame
{
    /// <summary>Length field and type byte.</summary>
    public const int HeaderLength = 5;

    /// <summary>Largest body either side sends or accepts.</summary>
    public const int MaxBodyLength = 64 * 1024;

    /// <summary>Longest field name.</summary>
    public const int MaxKeyLength = 128;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The whole frame, header included.</summary>
    /// <exception cref="ArgumentException">A field name or value cannot be sent (bad name, NUL in a value, body too large).</exception>
    public static byte[] Encode(ShimMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var length = 0;
        foreach (var (key, value) in message.Fields)
        {
            if (!IsValidKey(key))
            {
                throw new ArgumentException($"Field name '{key}' is not 1 to {MaxKeyLength} of A-Z a-z 0-9 _ . -", nameof(message));
            }

            if (value.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Field '{key}' contains a NUL character, which the protocol cannot carry.", nameof(message));
            }

            length += key.Length + 1 + StrictUtf8.GetByteCount(value) + 1;
        }

        if (length > MaxBodyLength)
        {
            throw new ArgumentException($"The {message.Type} message's body would be {length} bytes; at most {MaxBodyLength} fit in a frame.", nameof(message));
        }

        var frame = new byte[HeaderLength + length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)length);
        frame[4] = (byte)message.Type;
        var offset = HeaderLength;
        foreach (var (key, value) in message.Fields)
        {
            offset += Encoding.ASCII.GetBytes(key, frame.AsSpan(offset));
            frame[offset++] = (byte)'=';
            offset += StrictUtf8.GetBytes(value, frame.AsSpan(offset));
            frame[offset++] = 0;
        }

        return frame;
    }

    /// <summary>The body length a header announces, before it is checked against <see cref="MaxBodyLength"/>.</summary>
    public static uint ReadBodyLength(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt32BigEndian(header);

    /// <summary>Whether the protocol defines the type byte.</summary>
    public static bool IsKnownType(byte type) => Enum.IsDefined((ShimMessageType)type);

    /// <summary>Parses a body.</summary>
    /// <exception cref="ShimProtocolException"><see cref="ShimErrorCodes.BadBody"/>: not a list of distinct <c>key=value\0</c> fields in UTF-8.</exception>
    public static ShimMessage Decode(ShimMessageType type, ReadOnlySpan<byte> body)
    {
        if (body.Length > MaxBodyLength)
        {
            throw new ShimProtocolException(ShimErrorCodes.TooLarge, $"The body is {body.Length} bytes; at most {MaxBodyLength} are allowed.");
        }

        if (body.Length > 0 && body[^1] != 0)
        {
            throw BadBody("the body does not end with a NUL byte (every field is key=value followed by \\0)");
        }

        var fields = new List<KeyValuePair<string, string>>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (!body.IsEmpty)
        {
            var end = body.IndexOf((byte)0);
            var field = body[..end];
            body = body[(end + 1)..];
            var equals = field.IndexOf((byte)'=');
            if (equals < 0)
            {
                throw BadBody($"field {fields.Count + 1} has no '=' (every field is key=value followed by \\0)");
            }

            var keyBytes = field[..equals];
            if (!IsValidKey(keyBytes))
            {
                throw BadBody($"field {fields.Count + 1} has a name that is not 1 to {MaxKeyLength} of A-Z a-z 0-9 _ . -");
            }

            var key = Encoding.ASCII.GetString(keyBytes);
            if (!keys.Add(key))
            {
                throw BadBody($"field '{key}' appears twice");
            }

            string value;
            try
            {
                value = StrictUtf8.GetString(field[(equals + 1)..]);
            }
            catch (DecoderFallbackException)
            {
                throw BadBody($"the value of field '{key}' is not valid UTF-8");
            }

            fields.Add(new KeyValuePair<string, string>(key, value));
        }

        return new ShimMessage(type, fields);
    }

    private static ShimProtocolException BadBody(string detail) => new(ShimErrorCodes.BadBody, $"Malformed body: {detail}.");

    private static bool IsValidKey(string key) =>
        key.Length is > 0 and <= MaxKeyLength && key.All(c => c < 128 && IsKeyByte((byte)c));

    private static bool IsValidKey(ReadOnlySpan<byte> key)
    {
        if (key.Length is 0 or > MaxKeyLength)
        {
            return false;
        }

        foreach (var b in key)
        {
            if (!IsKeyByte(b))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsKeyByte(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_' or (byte)'.' or (byte)'-';
}
