using System.Net.WebSockets;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Tests.Channels;

/// <summary>Client requests as JupyterLab sends them, in either wire protocol, and the orderly end of a relayed connection.</summary>
internal static class CellFrames
{
    public static (byte[] Frame, bool IsText) Execute(KernelWireProtocol protocol, string msgId, string code, string session = "s1") =>
        Frame(protocol, "shell", msgId, "execute_request", $$"""{"code":"{{code}}","silent":false}""", session);

    public static (byte[] Frame, bool IsText) Frame(KernelWireProtocol protocol, string channel, string msgId, string msgType, string content, string session = "s1")
    {
        var header = $$"""{"msg_id":"{{msgId}}","msg_type":"{{msgType}}","session":"{{session}}","username":"u","date":"2024-01-01T00:00:00Z","version":"5.3"}""";
        return protocol == KernelWireProtocol.V1
            ? (TestFrames.V1(channel, header, content: content), false)
            : (TestFrames.Utf8(TestFrames.LegacyJson(channel: $"\"{channel}\"", header: header, content: content)), true);
    }

    /// <summary>The client closes, the close reaches the kernel, the kernel closes back, the relay ends.</summary>
    public static async Task CloseBothAsync(RelayedConnection connection, CancellationToken ct)
    {
        await connection.Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        Assert.Equal(WebSocketMessageType.Close, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Type);
        await connection.Kernel.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        await connection.Relay.WaitAsync(ct);
    }
}
