using System.Net.WebSockets;
using System.Text;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Tests.Channels;

/// <summary>An interrupt reaches the relay while a GPU cell is held, and the cell is answered as a kernel answers a dropped one.</summary>
public sealed class KernelChannelRelayInterruptTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Interrupt_WhileCellHeld_AbortsHeldAndQueuedCellsAndForwardsTheRest()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new FakeExecutionBroker(hold: true);
        var connection = new RelayHarness(broker).Connect(subprotocol: null);

        var held = Execute("a", "import torch");
        var info = Frame("shell", "b", "kernel_info_request", "{}");
        var queued = Execute("c", "print(1)");
        var interrupt = Frame("control", "d", "interrupt_request", "{}");
        await SendAsync(connection.Client, held, ct);
        var holdToken = await broker.Held.WaitAsync(ct);
        await SendAsync(connection.Client, info, ct);
        await SendAsync(connection.Client, queued, ct);
        await SendAsync(connection.Client, interrupt, ct);

        // The kernel gets everything but the two cells, in the order sent.
        Assert.Equal(info, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        Assert.Equal(interrupt, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        Assert.True(holdToken.IsCancellationRequested);

        // Each cell is answered busy, execute_reply(aborted), idle, parented to it.
        foreach (var cell in new[] { "a", "c" })
        {
            var busy = await ReceiveSummaryAsync(connection, ct);
            Assert.Equal(("iopub", "status", "busy", cell), (busy.Summary.Channel, busy.Summary.MsgType, busy.Summary.ExecutionState, busy.Summary.ParentMsgId));
            var reply = await ReceiveSummaryAsync(connection, ct);
            Assert.Equal(("shell", "execute_reply", cell), (reply.Summary.Channel, reply.Summary.MsgType, reply.Summary.ParentMsgId));
            Assert.Contains("\"status\":\"aborted\"", reply.Json, StringComparison.Ordinal);
            var idle = await ReceiveSummaryAsync(connection, ct);
            Assert.Equal(("status", "idle", cell), (idle.Summary.MsgType, idle.Summary.ExecutionState, idle.Summary.ParentMsgId));
        }

        // The connection goes on: a later message still reaches the kernel.
        var after = Frame("shell", "e", "kernel_info_request", "{}");
        await SendAsync(connection.Client, after, ct);
        Assert.Equal(after, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);

        await connection.Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        Assert.Equal(WebSocketMessageType.Close, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Type);
        await connection.Kernel.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        await connection.Relay.WaitAsync(ct);
    }

    [Fact]
    public async Task Interrupt_WithNothingHeld_IsForwardedAndAbortsNothing()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var connection = new RelayHarness(new FakeExecutionBroker(hold: false)).Connect(subprotocol: null);
        var cell = Execute("a", "print(1)");
        await SendAsync(connection.Client, cell, ct);
        Assert.Equal(cell, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);

        var interrupt = Frame("control", "b", "interrupt_request", "{}");
        await SendAsync(connection.Client, interrupt, ct);
        Assert.Equal(interrupt, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);

        await connection.Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        Assert.Equal(WebSocketMessageType.Close, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Type);
        await connection.Kernel.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        await connection.Relay.WaitAsync(ct);
    }

    private static byte[] Execute(string msgId, string code) =>
        Frame("shell", msgId, "execute_request", $$"""{"code":"{{code}}","silent":false}""");

    private static byte[] Frame(string channel, string msgId, string msgType, string content) =>
        TestFrames.Utf8(TestFrames.LegacyJson(
            channel: $"\"{channel}\"",
            header: $$"""{"msg_id":"{{msgId}}","msg_type":"{{msgType}}","session":"s1","username":"u","date":"2024-01-01T00:00:00Z","version":"5.3"}""",
            content: content));

    private static Task SendAsync(WebSocket socket, byte[] frame, CancellationToken ct) =>
        socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, ct);

    private static async Task<(KernelMessageSummary Summary, string Json)> ReceiveSummaryAsync(RelayedConnection connection, CancellationToken ct)
    {
        var (data, type) = await RelayedConnection.ReceiveAsync(connection.Client, ct);
        Assert.True(KernelMessageParser.TryParse(data, type == WebSocketMessageType.Text, KernelWireProtocol.Legacy, out var summary, out var error), error);
        return (summary, Encoding.UTF8.GetString(data));
    }
}
