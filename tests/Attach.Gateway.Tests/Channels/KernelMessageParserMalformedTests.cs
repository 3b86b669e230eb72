using System.Buffers.Binary;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Tests.Channels;

/// <summary>A client or a broken server can send anything; the parser must answer false, never throw.</summary>
public sealed class KernelMessageParserMalformedTests
{
    [Theory]
    [InlineData("v1", false)]
    [InlineData("legacy", false)]
    [InlineData("legacy", true)]
    public void TryParse_EmptyFrame_ReturnsFalse(string protocol, bool isText)
    {
        AssertRejected(Array.Empty<byte>(), isText, WireFixtures.ProtocolNamed(protocol), "empty frame");
    }

    [Theory]
    [InlineData("v1-iopub-status-busy.server.bin")]
    [InlineData("v1-iopub-comm-msg-buffers.server.bin")]
    [InlineData("v1-shell-execute-request.client.bin")]
    [InlineData("legacy-iopub-status-busy.server.json")]
    [InlineData("legacy-shell-execute-request.client.json")]
    public void TryParse_TruncatedAnywhere_ReturnsFalse(string fixture)
    {
        // v1 frames end exactly at their last offset and JSON is incomplete when cut, so every cut is an error.
        var frame = WireFixtures.Read(fixture);
        var (protocol, isText) = WireFixtures.FramingOf(fixture);
        for (var length = 0; length < frame.Length; length++)
        {
            Assert.False(KernelMessageParser.TryParse(frame.AsMemory(0, length), isText, protocol, out _, out var error), $"accepted {length} of {frame.Length} bytes");
            Assert.False(string.IsNullOrWhiteSpace(error));
        }
    }

    [Fact]
    public void TryParse_LegacyBinaryTruncatedInsideItsTable_ReturnsFalse()
    {
        // Cuts inside the last buffer are valid (it runs to the frame end), so only the table and JSON are cut here.
        var frame = WireFixtures.Read("legacy-iopub-comm-msg-buffers.server.bin");
        var jsonEnd = BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(8));
        for (var length = 0; length < jsonEnd; length++)
        {
            Assert.False(KernelMessageParser.TryParse(frame.AsMemory(0, length), false, KernelWireProtocol.Legacy, out _, out _), $"accepted {length} bytes");
        }
    }

    [Fact]
    public void TryParse_V1OffsetBeyondFrameEnd_NamesTheOffset()
    {
        var frame = TestFrames.V1("shell", TestFrames.Header);
        TestFrames.WriteV1Offset(frame, 3, (ulong)frame.Length + 1);

        AssertRejected(frame, false, KernelWireProtocol.V1, "v1 offset 3", "beyond frame end");
    }

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 40)]
    [InlineData(1UL << 31)]
    [InlineData(64UL)]
    public void TryParse_V1OffsetNumberHuge_ReturnsFalse(ulong offsetNumber)
    {
        var frame = TestFrames.V1("shell", TestFrames.Header);
        BinaryPrimitives.WriteUInt64LittleEndian(frame, offsetNumber);

        AssertRejected(frame, false, KernelWireProtocol.V1, "offset_number", "does not fit");
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(5UL)]
    public void TryParse_V1OffsetNumberTooSmall_ReturnsFalse(ulong offsetNumber)
    {
        var frame = TestFrames.V1("shell", TestFrames.Header);
        BinaryPrimitives.WriteUInt64LittleEndian(frame, offsetNumber);

        AssertRejected(frame, false, KernelWireProtocol.V1, "offset_number", "below 6");
    }

    [Fact]
    public void TryParse_V1OffsetsGoingBackwards_ReturnsFalse()
    {
        var frame = TestFrames.V1("shell", TestFrames.Header);
        TestFrames.WriteV1Offset(frame, 2, 60);

        AssertRejected(frame, false, KernelWireProtocol.V1, "v1 offset 2", "before offset 1");
    }

    [Fact]
    public void TryParse_V1FirstOffsetInsideOffsetTable_ReturnsFalse()
    {
        var frame = TestFrames.V1("shell", TestFrames.Header);
        TestFrames.WriteV1Offset(frame, 0, 8);

        AssertRejected(frame, false, KernelWireProtocol.V1, "points into the offset table");
    }

    [Fact]
    public void TryParse_V1ChannelNotUtf8_ReturnsFalse()
    {
        var frame = TestFrames.V1([0xff, 0xfe, 0x73], TestFrames.Utf8(TestFrames.Header), TestFrames.Utf8("{}"), TestFrames.Utf8("{}"), TestFrames.Utf8("{}"));

        AssertRejected(frame, false, KernelWireProtocol.V1, "v1 channel is not valid UTF-8");
    }

    [Theory]
    [InlineData("foo")]
    [InlineData("")]
    [InlineData("Shell")]
    [InlineData("hb")]
    public void TryParse_V1UnknownChannel_NamesIt(string channel)
    {
        AssertRejected(TestFrames.V1(channel, TestFrames.Header), false, KernelWireProtocol.V1, $"unknown channel '{channel}'");
    }

    [Fact]
    public void TryParse_LegacyUnknownChannel_NamesIt()
    {
        AssertRejected(TestFrames.Utf8(TestFrames.LegacyJson(channel: "\"foo\"")), true, KernelWireProtocol.Legacy, "unknown channel 'foo'");
    }

    [Fact]
    public void TryParse_LongUnknownChannel_ErrorStaysShort()
    {
        var channel = new string('x', 10_000);

        Assert.False(KernelMessageParser.TryParse(TestFrames.V1(channel, TestFrames.Header), false, KernelWireProtocol.V1, out _, out var v1Error));
        Assert.False(KernelMessageParser.TryParse(TestFrames.Utf8(TestFrames.LegacyJson(channel: $"\"{channel}\"")), true, KernelWireProtocol.Legacy, out _, out var legacyError));
        Assert.InRange(v1Error!.Length, 1, 100);
        Assert.InRange(legacyError!.Length, 1, 100);
    }

    [Fact]
    public void TryParse_LegacyChannelNotAString_ReturnsFalse()
    {
        AssertRejected(TestFrames.Utf8(TestFrames.LegacyJson(channel: "3")), true, KernelWireProtocol.Legacy, "channel is not a string");
    }

    [Theory]
    [InlineData("{\"msg_id\":\"m1\",\"msg_type\":", "invalid JSON in header")]
    [InlineData("{\"msg_id\":\"m1\",\"msg_type\":\"x\"} trailing", "invalid JSON in header")]
    [InlineData("{\"msg_id\":\"m1\",}", "invalid JSON in header")]
    [InlineData("", "invalid JSON in header")]
    [InlineData("[]", "header is not a JSON object")]
    [InlineData("null", "header is not a JSON object")]
    [InlineData("{\"msg_id\":\"m1\"}", "header.msg_type missing")]
    [InlineData("{\"msg_type\":\"status\"}", "header.msg_id missing")]
    [InlineData("{\"msg_id\":\"m1\",\"msg_type\":null}", "header.msg_type missing")]
    [InlineData("{\"msg_id\":7,\"msg_type\":\"status\"}", "header.msg_id is not a string")]
    [InlineData("{\"msg_id\":\"m1\",\"msg_type\":{}}", "header.msg_type is not a string")]
    public void TryParse_V1BadHeader_ReturnsFalse(string header, string expected)
    {
        AssertRejected(TestFrames.V1("shell", header), false, KernelWireProtocol.V1, expected);
    }

    [Theory]
    [InlineData("{\"msg_id\":\"m1\"}", "header.msg_type missing")]
    [InlineData("[1]", "header is not a JSON object")]
    [InlineData("{\"msg_id\":\"m1\",\"msg_type\":true}", "header.msg_type is not a string")]
    public void TryParse_LegacyBadHeader_ReturnsFalse(string header, string expected)
    {
        AssertRejected(TestFrames.Utf8(TestFrames.LegacyJson(header: header)), true, KernelWireProtocol.Legacy, expected);
    }

    [Fact]
    public void TryParse_LegacyWithoutHeader_ReturnsFalse()
    {
        AssertRejected(TestFrames.Utf8("""{"channel":"shell","content":{}}"""), true, KernelWireProtocol.Legacy, "header missing");
    }

    [Fact]
    public void TryParse_HeaderOverCap_ReturnsFalse()
    {
        var header = $$"""{"msg_id":"m1","msg_type":"status","pad":"{{new string('a', KernelMessageParser.MaxHeaderBytes)}}"}""";

        AssertRejected(TestFrames.V1("iopub", header), false, KernelWireProtocol.V1, "header larger than");
        AssertRejected(TestFrames.V1("iopub", TestFrames.Header, parentHeader: header), false, KernelWireProtocol.V1, "parent_header larger than");
        AssertRejected(TestFrames.Utf8(TestFrames.LegacyJson(header: header)), true, KernelWireProtocol.Legacy, "header larger than");
    }

    [Fact]
    public void TryParse_BadParentHeader_ReturnsFalse()
    {
        AssertRejected(TestFrames.V1("iopub", TestFrames.Header, parentHeader: "{\"msg_id\":"), false, KernelWireProtocol.V1, "invalid JSON in parent_header");
        AssertRejected(TestFrames.V1("iopub", TestFrames.Header, parentHeader: "\"x\""), false, KernelWireProtocol.V1, "parent_header is not a JSON object");
        AssertRejected(TestFrames.Utf8(TestFrames.LegacyJson(parentHeader: "[]")), true, KernelWireProtocol.Legacy, "parent_header is not a JSON object");
    }

    [Theory]
    [InlineData("execute_request", "{\"code\":")]
    [InlineData("status", "{\"execution_state\":\"busy\"")]
    [InlineData("status", "")]
    public void TryParse_V1BadContentOfReadType_ReturnsFalse(string msgType, string content)
    {
        var header = $$"""{"msg_id":"m1","msg_type":"{{msgType}}"}""";

        AssertRejected(TestFrames.V1("shell", header, content: content), false, KernelWireProtocol.V1, "invalid JSON in content");
    }

    [Theory]
    [InlineData("execute_request", "{\"code\":42}", "content.code is not a string")]
    [InlineData("status", "{\"execution_state\":[]}", "content.execution_state is not a string")]
    [InlineData("status", "[]", "content is not a JSON object")]
    public void TryParse_V1WrongContentShape_ReturnsFalse(string msgType, string content, string expected)
    {
        var header = $$"""{"msg_id":"m1","msg_type":"{{msgType}}"}""";

        AssertRejected(TestFrames.V1("shell", header, content: content), false, KernelWireProtocol.V1, expected);
    }

    [Fact]
    public void TryParse_V1BadContentOfOtherType_IsNotRead()
    {
        // The relay forwards the original bytes; content it does not act on is never decoded.
        var frame = TestFrames.V1("iopub", """{"msg_id":"m1","msg_type":"display_data"}""", content: "{not json");

        Assert.True(KernelMessageParser.TryParse(frame, false, KernelWireProtocol.V1, out var summary, out var error), error);
        Assert.Equal("display_data", summary.MsgType);
    }

    [Fact]
    public void TryParse_LegacyBadJsonAnywhere_NamesWhere()
    {
        AssertRejected(TestFrames.Utf8(TestFrames.LegacyJson(content: "{\"data\":[1,}")), true, KernelWireProtocol.Legacy, "invalid JSON in content");
        AssertRejected(TestFrames.Utf8(TestFrames.LegacyJson() + "x"), true, KernelWireProtocol.Legacy, "invalid JSON in legacy message");
        AssertRejected(TestFrames.Utf8("{\"metadata\":{\"a\":NaN}}"), true, KernelWireProtocol.Legacy, "invalid JSON");
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"header\"")]
    [InlineData("42")]
    public void TryParse_LegacyNotAnObject_ReturnsFalse(string json)
    {
        AssertRejected(TestFrames.Utf8(json), true, KernelWireProtocol.Legacy, "not a JSON object");
    }

    [Fact]
    public void TryParse_InvalidUtf8InHeaderString_ReturnsFalse()
    {
        var header = TestFrames.Utf8("{\"msg_id\":\"m\",\"msg_type\":\"status\",\"session\":\"s\"}");
        header[11] = 0xff; // the "m" of msg_id's value

        Assert.False(KernelMessageParser.TryParse(TestFrames.V1(TestFrames.Utf8("shell"), header, TestFrames.Utf8("{}"), TestFrames.Utf8("{}"), TestFrames.Utf8("{}")), false, KernelWireProtocol.V1, out _, out var error));
        Assert.Contains("header", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_V1AsTextFrame_ReturnsFalse()
    {
        AssertRejected(WireFixtures.Read("v1-iopub-status-busy.server.bin"), true, KernelWireProtocol.V1, "v1 frames must be binary");
    }

    [Fact]
    public void TryParse_LegacyBinaryWithNoParts_ReturnsFalse()
    {
        AssertRejected(new byte[] { 0, 0, 0, 0, (byte)'{', (byte)'}' }, false, KernelWireProtocol.Legacy, "declares no parts");
    }

    [Theory]
    [InlineData(0xffffffffu)]
    [InlineData(0x80000000u)]
    [InlineData(1000u)]
    public void TryParse_LegacyBinaryPartCountHuge_ReturnsFalse(uint partCount)
    {
        var frame = TestFrames.LegacyBinary(TestFrames.Utf8(TestFrames.LegacyJson()), [1, 2, 3]);
        BinaryPrimitives.WriteUInt32BigEndian(frame, partCount);

        AssertRejected(frame, false, KernelWireProtocol.Legacy, "does not fit");
    }

    [Fact]
    public void TryParse_LegacyBinaryOffsetBeyondEnd_ReturnsFalse()
    {
        var frame = TestFrames.LegacyBinary(TestFrames.Utf8(TestFrames.LegacyJson()), [1, 2, 3]);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), (uint)frame.Length + 10);

        AssertRejected(frame, false, KernelWireProtocol.Legacy, "legacy offset 1", "beyond frame end");
    }

    [Fact]
    public void TryParse_LegacyBinaryWithOnlyJsonPart_Accepted()
    {
        // JupyterLab insists on a buffer; Python's deserialize_binary_message does not. Be the lenient one.
        var frame = TestFrames.LegacyBinary(TestFrames.Utf8(TestFrames.LegacyJson()));

        Assert.True(KernelMessageParser.TryParse(frame, false, KernelWireProtocol.Legacy, out var summary, out var error), error);
        Assert.Equal("kernel_info_request", summary.MsgType);
    }

    [Fact]
    public void TryParse_DeeplyNestedMetadata_AcceptedUpToPythonLikeDepth()
    {
        var nested = new string('[', 500) + new string(']', 500);
        var json = $$"""{"header":{{TestFrames.Header}},"metadata":{{nested}},"channel":"shell"}""";

        Assert.True(KernelMessageParser.TryParse(TestFrames.Utf8(json), true, KernelWireProtocol.Legacy, out _, out var error), error);
    }

    [Fact]
    public void TryParse_RandomlyMutatedFrames_NeverThrow()
    {
        var random = new Random(20240506);
        var fixtures = WireFixtures.CompleteFrameNames.Select(name => (Name: name, Frame: WireFixtures.Read(name))).ToArray();
        Assert.NotEmpty(fixtures);
        var protocols = new[] { (KernelWireProtocol.V1, false), (KernelWireProtocol.Legacy, false), (KernelWireProtocol.Legacy, true) };

        for (var iteration = 0; iteration < 4000; iteration++)
        {
            var (name, original) = fixtures[random.Next(fixtures.Length)];
            var frame = Mutate(original, random);
            var (protocol, isText) = random.Next(4) == 0 ? protocols[random.Next(protocols.Length)] : WireFixtures.FramingOf(name);

            var parsed = KernelMessageParser.TryParse(frame, isText, protocol, out var summary, out var error);

            if (parsed)
            {
                Assert.NotNull(summary);
                Assert.Null(error);
                Assert.True(summary.HeaderJson.Length <= frame.Length);
            }
            else
            {
                Assert.Null(summary);
                Assert.False(string.IsNullOrWhiteSpace(error), $"{name} iteration {iteration}: empty error");
            }
        }
    }

    private static byte[] Mutate(byte[] original, Random random)
    {
        var frame = (byte[])original.Clone();
        switch (random.Next(5))
        {
            case 0:
                for (var i = random.Next(1, 5); i > 0; i--)
                {
                    frame[random.Next(frame.Length)] = (byte)random.Next(256);
                }

                return frame;
            case 1:
                return frame[..random.Next(frame.Length)];
            case 2:
                var extra = new byte[random.Next(1, 16)];
                random.NextBytes(extra);
                var at = random.Next(frame.Length);
                return [.. frame[..at], .. extra, .. frame[at..]];
            case 3:
                // Aim at the offset tables, where a bad value is most likely to index out of range.
                var slot = random.Next(Math.Min(frame.Length / 8, 10)) * 8;
                var value = random.Next(3) switch
                {
                    0 => (ulong)random.NextInt64(),
                    1 => (ulong)random.Next(frame.Length + 16),
                    _ => ulong.MaxValue - (ulong)random.Next(16),
                };
                if (slot + 8 <= frame.Length)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(slot), value);
                }

                return frame;
            default:
                var word = random.Next(Math.Min(frame.Length / 4, 8)) * 4;
                if (word + 4 <= frame.Length)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(word), (uint)random.Next(frame.Length + 16));
                }

                return frame;
        }
    }

    private static void AssertRejected(byte[] frame, bool isText, KernelWireProtocol protocol, params string[] expected)
    {
        var parsed = KernelMessageParser.TryParse(frame, isText, protocol, out var summary, out var error);

        Assert.False(parsed, $"accepted; expected error containing '{string.Join("', '", expected)}'");
        Assert.Null(summary);
        Assert.NotNull(error);
        foreach (var part in expected)
        {
            Assert.Contains(part, error, StringComparison.Ordinal);
        }
    }
}
