using System.Net.WebSockets;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Tests.Channels;

/// <summary>The kernel's messages that reach the gateway together go to the client together, and one alone is not held back.</summary>
public sealed class KernelChannelRelayCoalescingTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task KernelMessagesThatArriveTogether_ReachTheClientInOrder_InOneWrite()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var connection = new RelayHarness(new FakeExecutionBroker(hold: false)).Connect(subprotocol: null);
        byte[][] replies = [Status("r1", "busy"), Stream("r2", "hello\n"), Status("r3", "idle")];

        // The test kernel's three sends reach the gateway in one write to the connection, as a kernel's burst does.
        connection.KernelStream.Defer();
        foreach (var reply in replies)
        {
            await connection.Kernel.SendAsync(reply, WebSocketMessageType.Text, endOfMessage: true, ct);
        }

        var writesBefore = connection.RelayClientWrites.Writes;
        await connection.KernelStream.FlushDeferredAsync(ct);

        foreach (var reply in replies)
        {
            Assert.Equal(reply, (await RelayedConnection.ReceiveAsync(connection.Client, ct)).Data);
        }

        Assert.Equal(writesBefore + 1, connection.RelayClientWrites.Writes);
        await CloseAsync(connection, ct);
    }

    [Fact]
    public async Task AKernelMessageAlone_ReachesTheClientWithoutWaitingForTheNext()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var connection = new RelayHarness(new FakeExecutionBroker(hold: false)).Connect(subprotocol: KernelWireProtocols.V1Subprotocol);
        var status = TestFrames.V1(channel: "iopub", header: """{"msg_id":"r1","msg_type":"status","session":"s1","username":"u","date":"2024-01-01T00:00:00Z","version":"5.3"}""", content: """{"execution_state":"busy"}""");

        await connection.Kernel.SendAsync(status, WebSocketMessageType.Binary, endOfMessage: true, ct);

        Assert.Equal(status, (await RelayedConnection.ReceiveAsync(connection.Client, ct)).Data);
        await CloseAsync(connection, ct);
    }

    private static byte[] Status(string msgId, string state) =>
        Iopub(msgId, "status", $$"""{"execution_state":"{{state}}"}""");

    private static byte[] Stream(string msgId, string text) =>
        Iopub(msgId, "stream", $$"""{"name":"stdout","text":"{{text.Replace("\n", "\\n", StringComparison.Ordinal)}}"}""");

    private static byte[] Iopub(string msgId, string msgType, string content) =>
        TestFrames.Utf8(TestFrames.LegacyJson(
            channel: "\"iopub\"",
            header: $$"""{"msg_id":"{{msgId}}","msg_type":"{{msgType}}","session":"s1","username":"u","date":"2024-01-01T00:00:00Z","version":"5.3"}""",
            content: content));

    private static async Task CloseAsync(RelayedConnection connection, CancellationToken ct)
    {
        await connection.Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        Assert.Equal(WebSocketMessageType.Close, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Type);
        await connection.Kernel.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        await connection.Relay.WaitAsync(ct);
    }
}
