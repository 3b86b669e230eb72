using System.Net.WebSockets;
using Attach.Contracts.Kernels;
using Attach.Gateway.Channels;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Tests.Channels;

/// <summary>A browser that reconnects to its kernel while a cell is held finds the cell still waiting, and it runs once.</summary>
public sealed class KernelChannelRelayReconnectTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly KernelWireProtocol Legacy = KernelWireProtocol.Legacy;

    [Fact]
    public async Task Reconnect_AfterTheSocketClosed_ShowsTheHeldCellsState_AndDeliversItOnTheNewChannel_WithOneBrokerCall()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var first = harness.Connect(null, sessionId: "s1");
        var (cell, _) = CellFrames.Execute(Legacy, "a", "import torch");
        await first.Client.SendAsync(cell, WebSocketMessageType.Text, true, ct);
        var (_, brokerToken) = await broker.NextCallAsync(ct);
        broker.Progress(new ExecutionProgress(ExecutionPhase.Queued, 2, 5, 40, "waiting for a GPU: position 2 of 5, about 40 s"));
        var shown = await DecodedKernelFrame.ReceiveAsync(first.Client, Legacy, ct);
        Assert.Equal("display_data", shown.MsgType);

        // The browser's socket drops: the first kernel socket is closed without the cell.
        first.Client.Abort();
        Assert.Equal(WebSocketMessageType.Close, (await RelayedConnection.ReceiveAsync(first.Kernel, ct)).Type);
        await first.Kernel.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        await first.Relay.WaitAsync(ct);
        Assert.False(brokerToken.IsCancellationRequested, "the broker call was abandoned when the socket dropped");

        var second = harness.Connect(null, sessionId: "s1");
        var replay = await DecodedKernelFrame.ReceiveAsync(second.Client, Legacy, ct);
        Assert.Equal(("update_display_data", "a"), (replay.MsgType, replay.ParentMsgId));
        Assert.Equal("attach: waiting for a GPU: position 2 of 5, about 40 s", replay.Content.GetProperty("data").GetProperty("text/plain").GetString());
        Assert.Equal(shown.Content.GetProperty("transient").GetProperty("display_id").GetString(), replay.Content.GetProperty("transient").GetProperty("display_id").GetString());

        broker.Progress(new ExecutionProgress(ExecutionPhase.Attaching, null, null, null, "attaching GPU 0"));
        var update = await DecodedKernelFrame.ReceiveAsync(second.Client, Legacy, ct);
        Assert.Equal("attach: attaching GPU 0", update.Content.GetProperty("data").GetProperty("text/plain").GetString());
        broker.Decide(ScriptedExecutionBroker.Attached());
        var attached = await DecodedKernelFrame.ReceiveAsync(second.Client, Legacy, ct);
        Assert.Equal(("stream", "a"), (attached.MsgType, attached.ParentMsgId));
        Assert.Equal(cell, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);

        // The new channel goes on as usual, and the held cell cost one broker call.
        var (info, _) = CellFrames.Frame(Legacy, "shell", "b", "kernel_info_request", "{}");
        await second.Client.SendAsync(info, WebSocketMessageType.Text, true, ct);
        Assert.Equal(info, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);
        Assert.Equal(1, broker.CallCount);
        await CellFrames.CloseBothAsync(second, ct);
    }

    [Fact]
    public async Task Reconnect_BeforeTheOldSocketIsSeenToDrop_TakesTheCellOver()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var first = harness.Connect("v1.kernel.websocket.jupyter.org", sessionId: "s1");
        var (cell, _) = CellFrames.Execute(KernelWireProtocol.V1, "a", "import torch");
        await first.Client.SendAsync(cell, WebSocketMessageType.Binary, true, ct);
        await broker.NextCallAsync(ct);

        var second = harness.Connect("v1.kernel.websocket.jupyter.org", sessionId: "s1");

        // The old channel lets go: its kernel socket closes without the cell.
        Assert.Equal(WebSocketMessageType.Close, (await RelayedConnection.ReceiveAsync(first.Kernel, ct)).Type);
        broker.Decide(new ExecutionDecision(true, "import torch", ScriptedExecutionBroker.Attached().Attachment, false, null));
        Assert.Equal(cell, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);
        Assert.Equal(1, broker.CallCount);
        await CellFrames.CloseBothAsync(second, ct);
    }

    [Fact]
    public async Task InterruptOnTheNewChannel_AbortsTheTakenOverCell_AndCancelsTheBrokerCall()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var first = harness.Connect(null, sessionId: "s1");
        var (cell, _) = CellFrames.Execute(Legacy, "a", "import torch");
        await first.Client.SendAsync(cell, WebSocketMessageType.Text, true, ct);
        var (_, brokerToken) = await broker.NextCallAsync(ct);
        first.Client.Abort();
        Assert.Equal(WebSocketMessageType.Close, (await RelayedConnection.ReceiveAsync(first.Kernel, ct)).Type);

        var second = harness.Connect(null, sessionId: "s1");
        var (interrupt, _) = CellFrames.Frame(Legacy, "control", "i", "interrupt_request", "{}");
        await second.Client.SendAsync(interrupt, WebSocketMessageType.Text, true, ct);

        var states = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var frame = await DecodedKernelFrame.ReceiveAsync(second.Client, Legacy, ct);
            Assert.Equal("a", frame.ParentMsgId);
            states.Add(frame.MsgType == "execute_reply" ? frame.Content.GetProperty("status").GetString()! : frame.Content.GetProperty("execution_state").GetString()!);
        }

        Assert.Equal(["busy", "aborted", "idle"], states);
        Assert.True(brokerToken.IsCancellationRequested);
        Assert.Equal(interrupt, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);
        await CellFrames.CloseBothAsync(second, ct);
    }

    [Fact]
    public async Task NoReconnectWithinTheGrace_DropsTheCell_AndCancelsTheBrokerCall()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker, channelOptions: new KernelChannelOptions { ReconnectGrace = TimeSpan.FromMilliseconds(100) });
        var first = harness.Connect(null, sessionId: "s1");
        var (cell, _) = CellFrames.Execute(Legacy, "a", "import torch");
        await first.Client.SendAsync(cell, WebSocketMessageType.Text, true, ct);
        var (_, brokerToken) = await broker.NextCallAsync(ct);

        first.Client.Abort();

        await Task.Delay(Timeout.Infinite, brokerToken).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(ct);
        Assert.True(brokerToken.IsCancellationRequested);
    }

    [Fact]
    public async Task AnotherSession_DoesNotTakeTheCell()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var first = harness.Connect(null, sessionId: "s1");
        var (cell, _) = CellFrames.Execute(Legacy, "a", "import torch");
        await first.Client.SendAsync(cell, WebSocketMessageType.Text, true, ct);
        await broker.NextCallAsync(ct);

        var other = harness.Connect(null, sessionId: "s2");
        var (info, _) = CellFrames.Frame(Legacy, "shell", "b", "kernel_info_request", "{}", session: "s2");
        await other.Client.SendAsync(info, WebSocketMessageType.Text, true, ct);

        // The other session's channel is not held up by, and never receives, the first session's cell.
        Assert.Equal(info, (await RelayedConnection.ReceiveAsync(other.Kernel, ct)).Data);
        broker.Decide(new ExecutionDecision(false, "none", null, false, null));
        Assert.Equal(cell, (await RelayedConnection.ReceiveAsync(first.Kernel, ct)).Data);
        await CellFrames.CloseBothAsync(other, ct);
        await CellFrames.CloseBothAsync(first, ct);
    }

    [Fact]
    public async Task ClientClosesProperly_WhileACellIsHeld_TheCellAndWhatFollowsStillReachTheKernel()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var first = harness.Connect(null, sessionId: "s1");
        var (cell, _) = CellFrames.Execute(Legacy, "a", "import torch");
        var (info, _) = CellFrames.Frame(Legacy, "shell", "b", "kernel_info_request", "{}");
        await first.Client.SendAsync(cell, WebSocketMessageType.Text, true, ct);
        await first.Client.SendAsync(info, WebSocketMessageType.Text, true, ct);
        await broker.NextCallAsync(ct);
        await first.Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", ct);

        broker.Decide(new ExecutionDecision(false, "none", null, false, null));

        Assert.Equal(cell, (await RelayedConnection.ReceiveAsync(first.Kernel, ct)).Data);
        Assert.Equal(info, (await RelayedConnection.ReceiveAsync(first.Kernel, ct)).Data);
        Assert.Equal(WebSocketMessageType.Close, (await RelayedConnection.ReceiveAsync(first.Kernel, ct)).Type);
        await first.Kernel.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        await first.Relay.WaitAsync(ct);
    }
}
