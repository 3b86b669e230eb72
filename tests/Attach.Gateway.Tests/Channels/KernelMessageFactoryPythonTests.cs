using System.Text.Json;
using Attach.Gateway.Channels.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Gateway.Tests.Channels;

/// <summary>Everything the factory writes is read back by the real jupyter_server/jupyter_client/nbformat code.</summary>
public sealed class KernelMessageFactoryPythonTests(KernelMessageFactoryPythonTests.DecodedFrames decoded)
    : IClassFixture<KernelMessageFactoryPythonTests.DecodedFrames>
{
    public const string Traceback0 = "\u001b[0;31mGpuUnavailable\u001b[0m: no GPU free \u2014 queued";

    public static TheoryData<string> Protocols => ["legacy", "v1"];

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Stream_DecodedByPython_IsNotebookStreamOutput(string protocol)
    {
        var message = decoded.Get($"{protocol}-stream");

        AssertCommonHeader(message, "iopub", "stream");
        Assert.Equal("stderr", message.GetProperty("content").GetProperty("name").GetString());
        Assert.Equal("waiting for a GPU\u2026\n", message.GetProperty("content").GetProperty("text").GetString());
        Assert.Equal("stream", message.GetProperty("nbformat_output_type").GetString());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Status_DecodedByPython_HasExecutionState(string protocol)
    {
        var message = decoded.Get($"{protocol}-status");

        AssertCommonHeader(message, "iopub", "status");
        Assert.Equal("idle", message.GetProperty("content").GetProperty("execution_state").GetString());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Error_DecodedByPython_IsNotebookErrorOutput(string protocol)
    {
        var message = decoded.Get($"{protocol}-error");

        AssertCommonHeader(message, "iopub", "error");
        Assert.Equal("error", message.GetProperty("nbformat_output_type").GetString());
        Assert.Equal(Traceback0, message.GetProperty("content").GetProperty("traceback")[0].GetString());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void ExecuteReplyError_DecodedByPython_HasErrorStatusAndCount(string protocol)
    {
        var message = decoded.Get($"{protocol}-execute-reply-error");

        AssertCommonHeader(message, "shell", "execute_reply");
        var content = message.GetProperty("content");
        Assert.Equal("error", content.GetProperty("status").GetString());
        Assert.Equal(0, content.GetProperty("execution_count").GetInt32());
        Assert.Equal("no GPU free", content.GetProperty("evalue").GetString());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void ExecuteReplyAborted_DecodedByPython_HasAbortedStatus(string protocol)
    {
        var message = decoded.Get($"{protocol}-execute-reply-aborted");

        AssertCommonHeader(message, "shell", "execute_reply");
        Assert.Equal("""{"status":"aborted"}""", JsonSerializer.Serialize(message.GetProperty("content")));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void DisplayData_DecodedByPython_IsNotebookDisplayOutputWithDisplayId(string protocol)
    {
        var message = decoded.Get($"{protocol}-display-data");

        AssertCommonHeader(message, "iopub", "display_data");
        Assert.Equal("display_data", message.GetProperty("nbformat_output_type").GetString());
        var content = message.GetProperty("content");
        Assert.Equal("attach: waiting for a GPU: position 2 of 5, about 40 s", content.GetProperty("data").GetProperty("text/plain").GetString());
        Assert.Equal("attach-req-0001", content.GetProperty("transient").GetProperty("display_id").GetString());
        Assert.Equal("{}", JsonSerializer.Serialize(message.GetProperty("metadata")));
        Assert.Equal("execute_request", message.GetProperty("parent_header").GetProperty("msg_type").GetString());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void UpdateDisplayData_DecodedByPython_CarriesTheSameDisplayId(string protocol)
    {
        var message = decoded.Get($"{protocol}-update-display-data");

        AssertCommonHeader(message, "iopub", "update_display_data");
        var content = message.GetProperty("content");
        Assert.Equal("attach: attaching a GPU", content.GetProperty("data").GetProperty("text/plain").GetString());
        Assert.Equal("attach-req-0001", content.GetProperty("transient").GetProperty("display_id").GetString());
    }

    private static void AssertCommonHeader(JsonElement message, string channel, string msgType)
    {
        Assert.Equal(channel, message.GetProperty("channel").GetString());
        Assert.Equal(msgType, message.GetProperty("msg_type").GetString());
        Assert.True(Guid.TryParse(message.GetProperty("msg_id").GetString(), out _));
        Assert.Equal("client-session-9a2e", message.GetProperty("session").GetString());
        Assert.Equal("attach", message.GetProperty("username").GetString());
        Assert.Equal("5.3", message.GetProperty("version").GetString());
        Assert.True(message.GetProperty("date_parsed").GetBoolean(), "jupyter_client did not parse the date");
        Assert.Equal("2025-03-04T05:06:07.123456+00:00", message.GetProperty("date").GetString());
        Assert.Equal("req-0001", message.GetProperty("parent_msg_id").GetString());
    }

    /// <summary>All factory messages in both protocols, decoded by one python3 run.</summary>
    public sealed class DecodedFrames
    {
        private readonly IReadOnlyDictionary<string, JsonElement> _messages;

        public DecodedFrames()
        {
            var factory = new KernelMessageFactory(new FakeTimeProvider(new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1234567)));
            var frames = new Dictionary<string, (KernelWireProtocol, KernelFrame)>();
            foreach (var (prefix, protocol, fixture) in new[]
            {
                ("legacy", KernelWireProtocol.Legacy, "legacy-shell-execute-request.client.json"),
                ("v1", KernelWireProtocol.V1, "v1-shell-execute-request.client.bin"),
            })
            {
                var (_, isText) = WireFixtures.FramingOf(fixture);
                if (!KernelMessageParser.TryParse(WireFixtures.Read(fixture), isText, protocol, out var request, out var error))
                {
                    throw new InvalidOperationException(error);
                }

                var parent = request.HeaderJson;
                frames[$"{prefix}-stream"] = (protocol, factory.Stream(protocol, parent, "stderr", "waiting for a GPU\u2026\n"));
                frames[$"{prefix}-status"] = (protocol, factory.Status(protocol, parent, "idle"));
                frames[$"{prefix}-error"] = (protocol, factory.Error(protocol, parent, "GpuUnavailable", "no GPU free", [Traceback0, "second line"]));
                frames[$"{prefix}-execute-reply-error"] = (protocol, factory.ExecuteReplyError(protocol, parent, "GpuUnavailable", "no GPU free", [Traceback0]));
                frames[$"{prefix}-execute-reply-aborted"] = (protocol, factory.ExecuteReplyAborted(protocol, parent));
                frames[$"{prefix}-display-data"] = (protocol, factory.DisplayData(protocol, parent, "attach-req-0001", "attach: waiting for a GPU: position 2 of 5, about 40 s"));
                frames[$"{prefix}-update-display-data"] = (protocol, factory.UpdateDisplayData(protocol, parent, "attach-req-0001", "attach: attaching a GPU"));
            }

            _messages = JupyterServerDecoder.Decode(frames);
        }

        public JsonElement Get(string name) =>
            _messages.TryGetValue(name, out var message) ? message : throw new KeyNotFoundException($"python did not decode {name}");
    }
}
