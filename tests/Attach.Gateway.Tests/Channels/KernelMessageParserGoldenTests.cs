using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Tests.Channels;

/// <summary>Frames exactly as jupyter_server 1.23 and JupyterLab 4 put them on the socket (see Fixtures/).</summary>
public sealed class KernelMessageParserGoldenTests
{
    private const string ExecuteCode = "import torch\nprint(torch.cuda.is_available())  # \u00e9\u4e2d \"quoted\"\n";

    [Theory]
    [InlineData("legacy-iopub-status-busy.server.json", "iopub", "status", "st-busy", "busy")]
    [InlineData("legacy-iopub-status-idle.server.json", "iopub", "status", "st-idle", "idle")]
    [InlineData("v1-iopub-status-busy.server.bin", "iopub", "status", "st-busy", "busy")]
    [InlineData("v1-iopub-status-idle.server.bin", "iopub", "status", "st-idle", "idle")]
    [InlineData("legacy-shell-execute-reply.server.json", "shell", "execute_reply", "rep-0001", null)]
    [InlineData("v1-shell-execute-reply.server.bin", "shell", "execute_reply", "rep-0001", null)]
    [InlineData("legacy-iopub-comm-msg-buffers.server.bin", "iopub", "comm_msg", "comm-0001", null)]
    [InlineData("v1-iopub-comm-msg-buffers.server.bin", "iopub", "comm_msg", "comm-0001", null)]
    [InlineData("legacy-stdin-input-request.server.json", "stdin", "input_request", "in-0001", null)]
    [InlineData("v1-stdin-input-request.server.bin", "stdin", "input_request", "in-0001", null)]
    public void TryParse_ServerFrame_ReadsKernelReplyParentedToRequest(string fixture, string channel, string msgType, string msgId, string? executionState)
    {
        var summary = Parse(fixture, WireFixtures.Read(fixture));

        Assert.Equal(channel, summary.Channel);
        Assert.Equal(msgType, summary.MsgType);
        Assert.Equal(msgId, summary.MsgId);
        Assert.Equal("kernel-session-5f1c", summary.Session);
        Assert.Equal("req-0001", summary.ParentMsgId);
        Assert.Equal("execute_request", summary.ParentMsgType);
        Assert.Equal(executionState, summary.ExecutionState);
        Assert.Null(summary.Code);
    }

    [Theory]
    [InlineData("legacy-shell-execute-request.client.json")]
    [InlineData("v1-shell-execute-request.client.bin")]
    public void TryParse_ClientExecuteRequest_ReadsCodeAndNoParent(string fixture)
    {
        var summary = Parse(fixture, WireFixtures.Read(fixture));

        Assert.Equal("shell", summary.Channel);
        Assert.Equal("execute_request", summary.MsgType);
        Assert.Equal("req-0001", summary.MsgId);
        Assert.Equal("client-session-9a2e", summary.Session);
        Assert.Equal(ExecuteCode, summary.Code);
        Assert.Null(summary.ParentMsgId);
        Assert.Null(summary.ParentMsgType);
        Assert.Null(summary.ExecutionState);
    }

    [Theory]
    [InlineData("legacy-shell-comm-msg-buffers.client.bin")]
    [InlineData("v1-shell-comm-msg-buffers.client.bin")]
    public void TryParse_ClientFrameWithBuffers_ReadsHeader(string fixture)
    {
        var summary = Parse(fixture, WireFixtures.Read(fixture));

        Assert.Equal("shell", summary.Channel);
        Assert.Equal("comm_msg", summary.MsgType);
        Assert.Null(summary.Code);
    }

    [Fact]
    public void TryParse_EveryFixture_HeaderJsonIsTheHeaderObjectInsideTheFrame()
    {
        foreach (var fixture in WireFixtures.CompleteFrameNames)
        {
            var frame = WireFixtures.Read(fixture);
            var summary = Parse(fixture, frame);

            AssertSliceOf(frame, summary.HeaderJson);
            using var header = JsonDocument.Parse(summary.HeaderJson);
            Assert.Equal(summary.MsgId, header.RootElement.GetProperty("msg_id").GetString());
            Assert.Equal(summary.MsgType, header.RootElement.GetProperty("msg_type").GetString());
        }
    }

    [Fact]
    public void TryParse_V1ServerFrame_HeaderJsonIsExactlyTheHeaderPart()
    {
        var frame = WireFixtures.Read("v1-iopub-status-busy.server.bin");

        var summary = Parse("v1-iopub-status-busy.server.bin", frame);

        // Offsets 1 and 2 delimit the header part in serialize_msg_to_ws_v1's layout.
        var start = BitConverter.ToInt32(frame, 16);
        var end = BitConverter.ToInt32(frame, 24);
        Assert.Equal(frame[start..end], summary.HeaderJson.ToArray());
    }

    [Theory]
    [InlineData("v1-iopub-display-data-1mib.server.prefix.bin")]
    [InlineData("legacy-iopub-display-data-1mib.server.prefix.bin")]
    public void TryParse_DisplayDataWithOneMiBBuffer_SlicesHeaderWithoutCopyingBuffer(string prefix)
    {
        var frame = WireFixtures.ReadWithOneMiBBuffer(prefix);
        var (protocol, isText) = WireFixtures.FramingOf(prefix);
        Assert.True(KernelMessageParser.TryParse(frame, isText, protocol, out _, out _));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var parsed = KernelMessageParser.TryParse(frame, isText, protocol, out var summary, out var error);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(parsed, error);
        Assert.Equal("display_data", summary!.MsgType);
        Assert.Equal("dd-0001", summary.MsgId);
        Assert.Equal("req-0001", summary.ParentMsgId);
        AssertSliceOf(frame, summary.HeaderJson);
        // The summary and its few id strings; a copy of the buffer would be over a mebibyte.
        Assert.InRange(allocated, 0, 16 * 1024);
    }

    [Fact]
    public void TryParse_LegacyClientFrameWithContentBeforeHeader_ReadsCode()
    {
        // JupyterLab's legacy client frames put content and channel before header.
        var frame = WireFixtures.Read("legacy-shell-execute-request.client.json");
        Assert.True(Encoding.UTF8.GetString(frame).IndexOf("\"content\"", StringComparison.Ordinal)
            < Encoding.UTF8.GetString(frame).IndexOf("\"header\"", StringComparison.Ordinal));

        var summary = Parse("legacy-shell-execute-request.client.json", frame);

        Assert.Equal(ExecuteCode, summary.Code);
    }

    [Fact]
    public void TryParse_V1WithBytesAfterLastPart_IgnoresThemAsPythonDoes()
    {
        var frame = WireFixtures.Read("v1-shell-execute-reply.server.bin");
        var padded = frame.Concat(new byte[] { 0xde, 0xad }).ToArray();

        var summary = Parse("v1-shell-execute-reply.server.bin", padded);

        Assert.Equal("execute_reply", summary.MsgType);
    }

    [Fact]
    public void TryParse_V1WithGapAfterOffsetTable_Accepted()
    {
        // Only "does not point into the table" is required of offset 0; padding before the parts is harmless.
        var tight = TestFrames.V1("iopub", TestFrames.Header);
        var gap = new byte[tight.Length + 8];
        tight.AsSpan(0, 56).CopyTo(gap);
        tight.AsSpan(56).CopyTo(gap.AsSpan(64));
        for (var i = 0; i < 6; i++)
        {
            TestFrames.WriteV1Offset(gap, i, BitConverter.ToUInt64(tight, 8 * (i + 1)) + 8);
        }

        Assert.True(KernelMessageParser.TryParse(gap, isText: false, KernelWireProtocol.V1, out var summary, out var error), error);
        Assert.Equal("iopub", summary.Channel);
    }

    [Fact]
    public void TryParse_LegacyWithoutChannel_AssumesShellAsServerDoes()
    {
        var json = $$$"""{"header":{{{TestFrames.Header}}},"parent_header":{},"metadata":{},"content":{}}""";

        Assert.True(KernelMessageParser.TryParse(TestFrames.Utf8(json), isText: true, KernelWireProtocol.Legacy, out var summary, out var error), error);
        Assert.Equal("shell", summary.Channel);
    }

    [Fact]
    public void TryParse_NullOrMissingParentHeader_HasNoParent()
    {
        var nullParent = TestFrames.LegacyJson(parentHeader: "null");
        var missingParent = $$"""{"header":{{TestFrames.Header}},"channel":"shell"}""";
        var v1NullParent = TestFrames.V1("shell", TestFrames.Header, parentHeader: "null");

        Assert.True(KernelMessageParser.TryParse(TestFrames.Utf8(nullParent), true, KernelWireProtocol.Legacy, out var a, out _));
        Assert.True(KernelMessageParser.TryParse(TestFrames.Utf8(missingParent), true, KernelWireProtocol.Legacy, out var b, out _));
        Assert.True(KernelMessageParser.TryParse(v1NullParent, false, KernelWireProtocol.V1, out var c, out _));
        Assert.All(new[] { a, b, c }, s => Assert.Null(s!.ParentMsgId));
    }

    [Fact]
    public void TryParse_EscapedKeysAndValues_AreUnescaped()
    {
        var header = """{"msg\u005fid":"m\u0031","msg_type":"st\u0061tus","session":"s"}""";
        var json = TestFrames.LegacyJson(channel: "\"io\\u0070ub\"", header: header, content: """{"execution_state":"b\u0075sy"}""");

        Assert.True(KernelMessageParser.TryParse(TestFrames.Utf8(json), true, KernelWireProtocol.Legacy, out var summary, out var error), error);
        Assert.Equal("iopub", summary.Channel);
        Assert.Equal("m1", summary.MsgId);
        Assert.Equal("status", summary.MsgType);
        Assert.Equal("busy", summary.ExecutionState);
    }

    [Fact]
    public void TryParse_SameFrameTwice_ReusesWellKnownStrings()
    {
        var frame = WireFixtures.Read("v1-iopub-status-busy.server.bin");

        var first = Parse("v1-iopub-status-busy.server.bin", frame);
        var second = Parse("v1-iopub-status-busy.server.bin", frame);

        Assert.Same(first.MsgType, second.MsgType);
        Assert.Same(first.Channel, second.Channel);
        Assert.Same(first.ExecutionState, second.ExecutionState);
    }

    private static KernelMessageSummary Parse(string fixture, byte[] frame)
    {
        var (protocol, isText) = WireFixtures.FramingOf(fixture);
        Assert.True(KernelMessageParser.TryParse(frame, isText, protocol, out var summary, out var error), $"{fixture}: {error}");
        return summary;
    }

    private static void AssertSliceOf(byte[] frame, ReadOnlyMemory<byte> slice)
    {
        Assert.True(MemoryMarshal.TryGetArray(slice, out var segment), "HeaderJson is not array-backed");
        Assert.Same(frame, segment.Array);
        Assert.InRange(segment.Offset + segment.Count, 1, frame.Length);
    }
}
