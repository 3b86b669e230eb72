using System.Net.WebSockets;
using Attach.Contracts.Kernels;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Tests.Channels;

/// <summary>While a GPU cell waits, the broker's queue reports show in that cell as one line that updates.</summary>
public sealed class KernelChannelRelayProgressTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    public static TheoryData<string> Protocols => ["legacy", "v1"];

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task HeldCell_ShowsQueueProgressAsOneUpdatingDisplay_ThenAttachLine_ThenReachesKernel(string protocolName)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var protocol = WireFixtures.ProtocolNamed(protocolName);
        var broker = new ScriptedExecutionBroker();
        var connection = new RelayHarness(broker).Connect(protocolName == "v1" ? KernelWireProtocols.V1Subprotocol : null);
        var (cell, isText) = CellFrames.Execute(protocol, "a", "import torch");

        await connection.Client.SendAsync(cell, isText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, ct);
        var (request, _) = await broker.NextCallAsync(ct);
        Assert.Equal(("a", "import torch"), (request.MsgId, request.Code));

        broker.Progress(new ExecutionProgress(ExecutionPhase.Queued, 2, 5, 40, "waiting for a GPU: position 2 of 5, about 40 s"));
        var first = await DecodedKernelFrame.ReceiveAsync(connection.Client, protocol, ct);
        AssertInjected(first, "display_data", "a");
        Assert.Equal("attach: waiting for a GPU: position 2 of 5, about 40 s", first.Content.GetProperty("data").GetProperty("text/plain").GetString());
        var displayId = first.Content.GetProperty("transient").GetProperty("display_id").GetString();
        Assert.False(string.IsNullOrEmpty(displayId));

        broker.Progress(new ExecutionProgress(ExecutionPhase.Queued, 1, 4, 12, "waiting for a GPU: position 1 of 4, about 12 s"));
        broker.Progress(new ExecutionProgress(ExecutionPhase.Attaching, null, null, null, "attaching GPU 0"));
        foreach (var expected in new[] { "attach: waiting for a GPU: position 1 of 4, about 12 s", "attach: attaching GPU 0" })
        {
            var update = await DecodedKernelFrame.ReceiveAsync(connection.Client, protocol, ct);
            AssertInjected(update, "update_display_data", "a");
            Assert.Equal(expected, update.Content.GetProperty("data").GetProperty("text/plain").GetString());
            Assert.Equal(displayId, update.Content.GetProperty("transient").GetProperty("display_id").GetString());
        }

        broker.Decide(ScriptedExecutionBroker.Attached(waitSeconds: 41.5));
        var attached = await DecodedKernelFrame.ReceiveAsync(connection.Client, protocol, ct);
        AssertInjected(attached, "stream", "a");
        Assert.StartsWith("attach: GPU 0 (Simulated GPU)", attached.Content.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Contains("waited 41.50 s", attached.Content.GetProperty("text").GetString(), StringComparison.Ordinal);

        Assert.Equal(cell, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        await CellFrames.CloseBothAsync(connection, ct);
    }

    [Fact]
    public async Task InterruptWhileQueued_CancelsTheBrokerCall_AndAbortsTheCellAfterItsProgress()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var connection = new RelayHarness(broker).Connect(null);
        var (cell, _) = CellFrames.Execute(KernelWireProtocol.Legacy, "a", "import torch");
        await connection.Client.SendAsync(cell, WebSocketMessageType.Text, true, ct);
        var (_, brokerToken) = await broker.NextCallAsync(ct);
        broker.Progress(new ExecutionProgress(ExecutionPhase.Queued, 3, 3, null, "waiting for a GPU: position 3 of 3"));
        Assert.Equal("display_data", (await DecodedKernelFrame.ReceiveAsync(connection.Client, KernelWireProtocol.Legacy, ct)).MsgType);

        var (interrupt, _) = CellFrames.Frame(KernelWireProtocol.Legacy, "control", "b", "interrupt_request", "{}");
        await connection.Client.SendAsync(interrupt, WebSocketMessageType.Text, true, ct);

        Assert.Equal(interrupt, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        Assert.True(brokerToken.IsCancellationRequested);
        var answers = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var frame = await DecodedKernelFrame.ReceiveAsync(connection.Client, KernelWireProtocol.Legacy, ct);
            Assert.Equal("a", frame.ParentMsgId);
            answers.Add(frame.MsgType == "execute_reply" ? $"execute_reply:{frame.Content.GetProperty("status").GetString()}" : $"status:{frame.Content.GetProperty("execution_state").GetString()}");
        }

        Assert.Equal(["status:busy", "execute_reply:aborted", "status:idle"], answers);
        await CellFrames.CloseBothAsync(connection, ct);
    }

    [Theory]
    [InlineData(ExecutionPhase.Queued, 2, 5, 39.6, "", "attach: waiting for a GPU: position 2 of 5, about 40 s")]
    [InlineData(ExecutionPhase.Queued, 2, 5, null, " ", "attach: waiting for a GPU: position 2 of 5")]
    [InlineData(ExecutionPhase.Resuming, null, null, null, "", "attach: resuming the kernel's GPU state")]
    [InlineData(ExecutionPhase.Attaching, null, null, null, "binding GPU 1", "attach: binding GPU 1")]
    public void ProgressText_UsesTheBrokersLine_OrBuildsOneFromTheFields(ExecutionPhase phase, int? position, int? length, double? eta, string message, string expected) =>
        Assert.Equal(expected, Gateway.Channels.KernelChannelRelay.ProgressText(new ExecutionProgress(phase, position, length, eta, message)));

    private static void AssertInjected(DecodedKernelFrame frame, string msgType, string parentMsgId)
    {
        Assert.Equal("iopub", frame.Channel);
        Assert.Equal(msgType, frame.MsgType);
        Assert.Equal(parentMsgId, frame.ParentMsgId);
        Assert.Equal("execute_request", frame.Parent.GetProperty("msg_type").GetString());
        Assert.Equal("s1", frame.Header.GetProperty("session").GetString());
        Assert.Equal("5.3", frame.Header.GetProperty("version").GetString());
        Assert.True(Guid.TryParse(frame.Header.GetProperty("msg_id").GetString(), out _));
        Assert.False(string.IsNullOrEmpty(frame.Header.GetProperty("username").GetString()));
        Assert.True(DateTimeOffset.TryParse(frame.Header.GetProperty("date").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        Assert.Equal(System.Text.Json.JsonValueKind.Object, frame.Metadata.ValueKind);
        Assert.Empty(frame.Metadata.EnumerateObject());
    }
}
