using System.Buffers.Binary;
using System.Text;
using Attach.Gateway.Channels.Protocol;
using FsCheck;
using FsCheck.Fluent;

namespace Attach.Gateway.Tests.Channels.Fuzz;

/// <summary>
/// Generates client frames as JupyterLab would send them (legacy text, legacy binary with buffers, v1 binary) and
/// the ways they go wrong: truncated, bad JSON, v1 offsets out of range or backwards, wrong offset counts, unknown
/// channels, oversize, text that is not UTF-8, a text frame on v1, an empty frame.
/// </summary>
internal static class FuzzFrames
{
    /// <summary>The relay's message limit in the fuzz; oversize frames are a little over it.</summary>
    public const int MaxMessageBytes = 64 * 1024;

    private static readonly string[] Kinds =
    [
        "valid", "valid", "valid", "valid-buffers", "valid-buffers",
        "truncated", "bad-json", "wrong-offsets", "wrong-offset-count", "unknown-channel", "oversize", "not-utf8-or-text", "empty",
    ];

    public static Gen<FuzzCase> Cases { get; } =
        from protocol in Gen.Elements("legacy", "v1")
        from count in Gen.Choose(8, 20)
        from specs in Gen.ArrayOf(Specs, count)
        select new FuzzCase(protocol, specs.Select((spec, i) => Build(protocol == "v1" ? KernelWireProtocol.V1 : KernelWireProtocol.Legacy, spec, i)).ToArray());

    /// <summary>Mostly valid frames, so a case gets some way before its first bad one.</summary>
    private static Gen<Spec> Specs { get; } =
        from kind in Gen.Frequency((30, Gen.Constant("valid")), (12, Gen.Constant("valid-buffers")), (2, Gen.Elements(Kinds)))
        from message in Gen.Choose(0, 4)
        from buffers in Gen.Choose(1, 3)
        from bufferSize in Gen.Choose(0, 2048)
        from cut in Gen.Choose(0, 99)
        from noise in Gen.Choose(0, 255)
        select new Spec(kind, message, buffers, bufferSize, cut, noise);

    public static FuzzFrame Build(KernelWireProtocol protocol, Spec spec, int index)
    {
        var (channel, msgType, content) = spec.Message switch
        {
            0 => ("shell", "kernel_info_request", "{}"),
            1 => ("shell", "execute_request", """{"code":"print(1)","silent":false,"store_history":true}"""),
            2 => ("shell", "execute_request", """{"code":"import torch\nx = torch.ones(3, device=\"cuda\")","silent":false}"""),
            3 => ("shell", "comm_msg", """{"comm_id":"c0ffee","data":{"method":"update","buffer_paths":[["value"]]}}"""),
            _ => ("stdin", "input_reply", """{"value":"\u00e9t\u00e9 \u2603"}"""),
        };
        var header = $$"""{"msg_id":"m{{index}}-{{spec.Noise}}","msg_type":"{{msgType}}","session":"s1","username":"u","date":"2024-01-01T00:00:00.000000Z","version":"5.3"}""";
        var buffers = spec.Kind is "valid-buffers" or "truncated" or "oversize"
            ? Enumerable.Range(0, spec.Buffers).Select(b => Enumerable.Range(0, spec.BufferSize).Select(i => (byte)(i * 31 + b + spec.Noise)).ToArray()).ToArray()
            : [];
        if (spec.Kind == "oversize")
        {
            // Just over the limit: the relay stops reading at the limit, so the rest must fit the test pipe.
            var padding = MaxMessageBytes + 1 + (spec.Cut * 64);
            buffers = [.. buffers, new byte[padding]];
        }

        return protocol == KernelWireProtocol.V1
            ? BuildV1(spec, channel, header, content, buffers)
            : BuildLegacy(spec, channel, header, content, buffers);
    }

    private static FuzzFrame BuildV1(Spec spec, string channel, string header, string content, byte[][] buffers)
    {
        switch (spec.Kind)
        {
            case "unknown-channel":
                return new(spec.Kind, false, TestFrames.V1(Utf8(UnknownChannel(spec)), [Utf8(header), Utf8("{}"), Utf8("{}"), Utf8(content)]), MustBeInvalid: true);
            case "bad-json":
                return new(spec.Kind, false, TestFrames.V1(Utf8(channel), [Utf8(BreakJson(header, spec)), Utf8("{}"), Utf8("{}"), Utf8(content)]), MustBeInvalid: true);
            case "not-utf8-or-text":
                // v1 is binary only: the same bytes as a text frame are refused.
                return new(spec.Kind, true, Utf8(TestFrames.LegacyJson($"\"{channel}\"", header, "{}", content)), MustBeInvalid: true);
            case "empty":
                return new(spec.Kind, false, [], MustBeInvalid: true);
        }

        var frame = TestFrames.V1(Utf8(channel), [Utf8(header), Utf8("{}"), Utf8("{}"), Utf8(content), .. buffers]);
        var offsetNumber = (int)BinaryPrimitives.ReadUInt64LittleEndian(frame);
        switch (spec.Kind)
        {
            case "truncated":
                // The last offset is the frame's length, so any cut leaves it beyond the end.
                return new(spec.Kind, false, frame[..(frame.Length * spec.Cut / 100)], MustBeInvalid: true);
            case "wrong-offsets":
            {
                var index = spec.Noise % offsetNumber;
                var offset = BinaryPrimitives.ReadUInt64LittleEndian(frame.AsSpan(8 * (index + 1)));
                var wrong = spec.Cut % 2 == 0
                    ? (ulong)frame.Length + 1 + (ulong)spec.Cut
                    : index == 0 ? (ulong)(8 * offsetNumber) : BinaryPrimitives.ReadUInt64LittleEndian(frame.AsSpan(8 * index)) - 1;
                TestFrames.WriteV1Offset(frame, index, wrong);
                return new(spec.Kind, false, frame, MustBeInvalid: wrong != offset);
            }

            case "wrong-offset-count":
            {
                var (count, mustBeInvalid) = (spec.Cut % 4) switch
                {
                    0 => ((ulong)(spec.Noise % 6), true),
                    1 => (ulong.MaxValue - (ulong)spec.Noise, true),
                    2 => ((ulong)frame.Length, true),
                    _ => ((ulong)offsetNumber + 1, false),
                };
                BinaryPrimitives.WriteUInt64LittleEndian(frame, count);
                return new(spec.Kind, false, frame, mustBeInvalid);
            }

            default:
                return new(spec.Kind, false, frame);
        }
    }

    private static FuzzFrame BuildLegacy(Spec spec, string channel, string header, string content, byte[][] buffers)
    {
        var channelJson = spec.Kind == "unknown-channel" ? $"\"{UnknownChannel(spec)}\"" : $"\"{channel}\"";
        var json = TestFrames.LegacyJson(channelJson, spec.Kind == "bad-json" ? BreakJson(header, spec) : header, "{}", content);
        switch (spec.Kind)
        {
            case "unknown-channel" or "bad-json":
                return new(spec.Kind, true, Utf8(json), MustBeInvalid: true);
            case "empty":
                return new(spec.Kind, spec.Noise % 2 == 0, [], MustBeInvalid: true);
            case "not-utf8-or-text":
            {
                // A lone continuation byte inside a string: the WebSocket layer refuses the text frame.
                var bytes = Utf8(json);
                var at = Array.IndexOf(bytes, (byte)'u', bytes.Length / 2);
                bytes[at < 0 ? bytes.Length / 2 : at] = 0x80;
                return new(spec.Kind, true, bytes, MustBeInvalid: true);
            }
        }

        if (buffers.Length == 0)
        {
            var text = Utf8(json);
            return spec.Kind == "truncated"
                ? new(spec.Kind, true, text[..(text.Length * spec.Cut / 100)], MustBeInvalid: true)
                : new(spec.Kind, true, text);
        }

        var frame = TestFrames.LegacyBinary(Utf8(json), buffers);
        var partCount = (int)BinaryPrimitives.ReadUInt32BigEndian(frame);
        switch (spec.Kind)
        {
            case "truncated":
            {
                // Cut inside the JSON part: invalid. Cut inside the last buffer: still a well-formed (shorter) message.
                var cut = frame.Length * spec.Cut / 100;
                var lastPartStart = (int)BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(4 * partCount));
                return new(spec.Kind, false, frame[..cut], MustBeInvalid: cut < lastPartStart);
            }

            case "wrong-offsets":
            {
                var index = spec.Noise % partCount;
                BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4 * (index + 1)), (uint)frame.Length + 1 + (uint)spec.Cut);
                return new(spec.Kind, false, frame, MustBeInvalid: true);
            }

            case "wrong-offset-count":
            {
                var (count, mustBeInvalid) = (spec.Cut % 3) switch
                {
                    0 => (0u, true),
                    1 => (uint.MaxValue - (uint)spec.Noise, true),
                    _ => ((uint)partCount + 1, false),
                };
                BinaryPrimitives.WriteUInt32BigEndian(frame, count);
                return new(spec.Kind, false, frame, mustBeInvalid);
            }

            default:
                return new(spec.Kind, false, frame);
        }
    }

    private static string UnknownChannel(Spec spec) => (spec.Noise % 4) switch
    {
        0 => "shel",
        1 => "iopubx",
        2 => "",
        _ => "SHELL",
    };

    /// <summary>Breaks the header's JSON in one of a few ways a buggy client does.</summary>
    private static string BreakJson(string header, Spec spec) => (spec.Cut % 4) switch
    {
        0 => header[..^1],
        1 => header.Replace("\":", "\"", StringComparison.Ordinal),
        2 => "{" + header,
        _ => header.Replace("\"msg_id\"", "msg_id", StringComparison.Ordinal),
    };

    private static byte[] Utf8(string value) => Encoding.UTF8.GetBytes(value);

    /// <summary>What to build: a kind, one of five real messages, and numbers the mutations use.</summary>
    internal sealed record Spec(string Kind, int Message, int Buffers, int BufferSize, int Cut, int Noise);
}
