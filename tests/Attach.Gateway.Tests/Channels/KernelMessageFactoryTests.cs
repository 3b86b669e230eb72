using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Attach.Gateway.Channels.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Gateway.Tests.Channels;

public sealed class KernelMessageFactoryTests
{
    private static readonly DateTimeOffset Now = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1234567);

    private readonly KernelMessageFactory _factory = new(new FakeTimeProvider(Now));

    // Test methods are public, the protocol enum is internal: theories take its name.
    public static TheoryData<string> Protocols => ["legacy", "v1"];

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Stream_ParentedToExecuteRequest_ParsesBackOnIopub(string protocolName)
    {
        var protocol = WireFixtures.ProtocolNamed(protocolName);
        var request = ClientRequest(protocol);

        var frame = _factory.Stream(protocol, request.HeaderJson, "stderr", "GPU not available\n");

        var summary = ParseBack(protocol, frame);
        Assert.Equal("iopub", summary.Channel);
        Assert.Equal("stream", summary.MsgType);
        Assert.Equal("req-0001", summary.ParentMsgId);
        Assert.Equal("execute_request", summary.ParentMsgType);
        using var message = Decode(protocol, frame);
        Assert.Equal("stderr", message.Content.GetProperty("name").GetString());
        Assert.Equal("GPU not available\n", message.Content.GetProperty("text").GetString());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Status_BusyThenIdle_ParseBackWithExecutionState(string protocolName)
    {
        var protocol = WireFixtures.ProtocolNamed(protocolName);
        var request = ClientRequest(protocol);

        var busy = ParseBack(protocol, _factory.Status(protocol, request.HeaderJson, "busy"));
        var idle = ParseBack(protocol, _factory.Status(protocol, request.HeaderJson, "idle"));

        Assert.Equal(("iopub", "status", "busy"), (busy.Channel, busy.MsgType, busy.ExecutionState));
        Assert.Equal(("iopub", "status", "idle"), (idle.Channel, idle.MsgType, idle.ExecutionState));
        Assert.Equal("req-0001", idle.ParentMsgId);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Error_WithTraceback_HasSpecContent(string protocolName)
    {
        var protocol = WireFixtures.ProtocolNamed(protocolName);
        var request = ClientRequest(protocol);

        var frame = _factory.Error(protocol, request.HeaderJson, "GpuUnavailable", "no GPU free", ["\u001b[31mGpuUnavailable\u001b[0m: no GPU free", "line 2"]);

        Assert.Equal(("iopub", "error"), (ParseBack(protocol, frame).Channel, ParseBack(protocol, frame).MsgType));
        using var message = Decode(protocol, frame);
        Assert.Equal("GpuUnavailable", message.Content.GetProperty("ename").GetString());
        Assert.Equal("no GPU free", message.Content.GetProperty("evalue").GetString());
        Assert.Equal(
            ["\u001b[31mGpuUnavailable\u001b[0m: no GPU free", "line 2"],
            message.Content.GetProperty("traceback").EnumerateArray().Select(line => line.GetString()));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void ExecuteReplyError_EndsRequestWithIntegerExecutionCount(string protocolName)
    {
        var protocol = WireFixtures.ProtocolNamed(protocolName);
        var request = ClientRequest(protocol);

        var frame = _factory.ExecuteReplyError(protocol, request.HeaderJson, "GpuUnavailable", "no GPU free", ["tb"]);

        var summary = ParseBack(protocol, frame);
        Assert.Equal(("shell", "execute_reply", "req-0001"), (summary.Channel, summary.MsgType, summary.ParentMsgId));
        using var message = Decode(protocol, frame);
        Assert.Equal("error", message.Content.GetProperty("status").GetString());
        Assert.Equal(0, message.Content.GetProperty("execution_count").GetInt32());
        Assert.Equal("GpuUnavailable", message.Content.GetProperty("ename").GetString());
        Assert.Equal(JsonValueKind.Object, message.Content.GetProperty("user_expressions").ValueKind);
        Assert.Equal(0, message.Content.GetProperty("payload").GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void ExecuteReplyAborted_ContentIsExactlyIpykernels(string protocolName)
    {
        var protocol = WireFixtures.ProtocolNamed(protocolName);
        var request = ClientRequest(protocol);

        var frame = _factory.ExecuteReplyAborted(protocol, request.HeaderJson);

        Assert.Equal(("shell", "execute_reply"), (ParseBack(protocol, frame).Channel, ParseBack(protocol, frame).MsgType));
        using var message = Decode(protocol, frame);
        Assert.Equal("""{"status":"aborted"}""", message.Content.GetRawText());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Header_IsKernelShapedWithClientSessionAndFakeClockDate(string protocolName)
    {
        var protocol = WireFixtures.ProtocolNamed(protocolName);
        var request = ClientRequest(protocol);

        using var first = Decode(protocol, _factory.Status(protocol, request.HeaderJson, "idle"));
        using var second = Decode(protocol, _factory.Status(protocol, request.HeaderJson, "idle"));

        var header = first.Header;
        Assert.True(Guid.TryParse(header.GetProperty("msg_id").GetString(), out _));
        Assert.NotEqual(header.GetProperty("msg_id").GetString(), second.Header.GetProperty("msg_id").GetString());
        Assert.Equal("status", header.GetProperty("msg_type").GetString());
        Assert.Equal("attach", header.GetProperty("username").GetString());
        Assert.Equal("client-session-9a2e", header.GetProperty("session").GetString());
        Assert.Equal("2025-03-04T05:06:07.123456Z", header.GetProperty("date").GetString());
        Assert.Equal("5.3", header.GetProperty("version").GetString());
        Assert.Equal(JsonValueKind.Object, first.Metadata.ValueKind);
        Assert.Empty(first.Metadata.EnumerateObject());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void ParentHeader_IsEmbeddedVerbatim(string protocolName)
    {
        var protocol = WireFixtures.ProtocolNamed(protocolName);
        var request = ClientRequest(protocol);

        var frame = _factory.Stream(protocol, request.HeaderJson, "stdout", "x");

        Assert.True(frame.Data.Span.IndexOf(request.HeaderJson.Span) >= 0, "parent header bytes not found in the frame");
        using var message = Decode(protocol, frame);
        Assert.Equal(Encoding.UTF8.GetString(request.HeaderJson.Span), message.Parent.GetRawText());
    }

    [Fact]
    public void Legacy_IsTextFrameInJupyterServerKeyOrder()
    {
        var serverFrame = WireFixtures.Read("legacy-iopub-status-busy.server.json");
        using var server = JsonDocument.Parse(serverFrame);
        var request = ClientRequest(KernelWireProtocol.Legacy);

        var frame = _factory.Status(KernelWireProtocol.Legacy, request.HeaderJson, "busy");

        Assert.True(frame.IsText);
        using var ours = JsonDocument.Parse(frame.Data);
        Assert.Equal(Keys(server.RootElement), Keys(ours.RootElement));
        Assert.Equal(Keys(server.RootElement.GetProperty("header")), Keys(ours.RootElement.GetProperty("header")));
        Assert.Equal(ours.RootElement.GetProperty("header").GetProperty("msg_id").GetString(), ours.RootElement.GetProperty("msg_id").GetString());
        Assert.Equal("status", ours.RootElement.GetProperty("msg_type").GetString());
        Assert.Equal(0, ours.RootElement.GetProperty("buffers").GetArrayLength());
        Assert.Equal("iopub", ours.RootElement.GetProperty("channel").GetString());
    }

    [Fact]
    public void V1_IsBinaryFrameWithSixOffsetsAndChannelFirst()
    {
        var request = ClientRequest(KernelWireProtocol.V1);

        var frame = _factory.Status(KernelWireProtocol.V1, request.HeaderJson, "busy");

        Assert.False(frame.IsText);
        var span = frame.Data.Span;
        Assert.Equal(6UL, BinaryPrimitives.ReadUInt64LittleEndian(span));
        Assert.Equal(56UL, BinaryPrimitives.ReadUInt64LittleEndian(span[8..]));
        Assert.Equal((ulong)span.Length, BinaryPrimitives.ReadUInt64LittleEndian(span[48..]));
        Assert.Equal("iopub"u8.ToArray(), span[56..61].ToArray());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void NonAsciiText_IsWrittenAsUtf8AndRoundTrips(string protocolName)
    {
        var protocol = WireFixtures.ProtocolNamed(protocolName);
        var request = ClientRequest(protocol);
        const string text = "caf\u00e9 \u4e2d\u6587 <b>&amp;</b> \"q\" \\ \t\u0001 \U0001F680";

        var frame = _factory.Stream(protocol, request.HeaderJson, "stdout", text);

        Assert.True(frame.Data.Span.IndexOf("caf\u00e9 \u4e2d\u6587 <b>&amp;</b>"u8) >= 0, "non-ASCII or HTML characters were escaped");
        using var message = Decode(protocol, frame);
        Assert.Equal(text, message.Content.GetProperty("text").GetString());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void EmptyParent_IsWrittenAsEmptyObjectWithFallbackSession(string protocolName)
    {
        var protocol = WireFixtures.ProtocolNamed(protocolName);
        var frame = _factory.Status(protocol, ReadOnlyMemory<byte>.Empty, "idle");
        var again = _factory.Status(protocol, ReadOnlyMemory<byte>.Empty, "idle");

        Assert.Null(ParseBack(protocol, frame).ParentMsgId);
        using var message = Decode(protocol, frame);
        using var second = Decode(protocol, again);
        Assert.Equal("{}", message.Parent.GetRawText());
        Assert.False(string.IsNullOrEmpty(message.Header.GetProperty("session").GetString()));
        Assert.Equal(message.Header.GetProperty("session").GetString(), second.Header.GetProperty("session").GetString());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"msg_id\":\"a\"")]
    [InlineData("{} {}")]
    public void AnyMethod_ParentNotAJsonObject_ThrowsArgumentException(string parent)
    {
        var bytes = Encoding.UTF8.GetBytes(parent);

        Assert.Throws<ArgumentException>(() => _factory.Status(KernelWireProtocol.V1, bytes, "idle"));
        Assert.Throws<ArgumentException>(() => _factory.ExecuteReplyAborted(KernelWireProtocol.Legacy, bytes));
    }

    /// <summary>A parsed client execute_request, as the relay would hold it.</summary>
    private static KernelMessageSummary ClientRequest(KernelWireProtocol protocol)
    {
        var fixture = protocol == KernelWireProtocol.V1 ? "v1-shell-execute-request.client.bin" : "legacy-shell-execute-request.client.json";
        var (_, isText) = WireFixtures.FramingOf(fixture);
        Assert.True(KernelMessageParser.TryParse(WireFixtures.Read(fixture), isText, protocol, out var summary, out var error), error);
        return summary;
    }

    private static KernelMessageSummary ParseBack(KernelWireProtocol protocol, KernelFrame frame)
    {
        Assert.Equal(protocol == KernelWireProtocol.Legacy, frame.IsText);
        Assert.True(KernelMessageParser.TryParse(frame.Data, frame.IsText, protocol, out var summary, out var error), error);
        return summary;
    }

    private static string[] Keys(JsonElement element) => element.EnumerateObject().Select(property => property.Name).ToArray();

    private static DecodedMessage Decode(KernelWireProtocol protocol, KernelFrame frame)
    {
        if (protocol == KernelWireProtocol.Legacy)
        {
            var document = JsonDocument.Parse(frame.Data);
            var root = document.RootElement;
            return new DecodedMessage([document], root.GetProperty("header"), root.GetProperty("parent_header"), root.GetProperty("metadata"), root.GetProperty("content"));
        }

        var data = frame.Data;
        int Offset(int index) => (int)BinaryPrimitives.ReadUInt64LittleEndian(data.Span[(8 * (index + 1))..]);
        var parts = Enumerable.Range(1, 4).Select(i => JsonDocument.Parse(data[Offset(i)..Offset(i + 1)])).ToArray();
        return new DecodedMessage(parts, parts[0].RootElement, parts[1].RootElement, parts[2].RootElement, parts[3].RootElement);
    }

    private sealed record DecodedMessage(JsonDocument[] Documents, JsonElement Header, JsonElement Parent, JsonElement Metadata, JsonElement Content) : IDisposable
    {
        public void Dispose()
        {
            foreach (var document in Documents)
            {
                document.Dispose();
            }
        }
    }
}
