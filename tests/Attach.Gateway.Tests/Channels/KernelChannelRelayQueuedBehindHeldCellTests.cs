using System.Collections.Concurrent;
using System.Net.WebSockets;
using Attach.Contracts.Kernels;
using Attach.Gateway.Channels;
using Attach.Gateway.Channels.Protocol;
using Microsoft.Extensions.Logging;

namespace Attach.Gateway.Tests.Channels;

/// <summary>
/// What the browser sent behind a held cell when its socket dropped is kept with the cell: the reconnected channel
/// sends it on in order (or aborts its cells, as a kernel does after an error), and with no reconnect each is logged.
/// </summary>
public sealed class KernelChannelRelayQueuedBehindHeldCellTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly KernelWireProtocol Legacy = KernelWireProtocol.Legacy;

    [Fact]
    public async Task MessagesQueuedBehindAHeldCell_WhenTheSocketDrops_RunAfterItOnTheReconnectedSocket_InOrder_WithTheirRepliesThere()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var first = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Execute(Legacy, "a", "import torch");
        var (queued, _) = CellFrames.Execute(Legacy, "b", "print(1)");
        var (info, _) = CellFrames.Frame(Legacy, "shell", "c", "kernel_info_request", "{}");
        await DropWithQueuedAsync(harness, broker, first, [held, queued, info], ct);

        var second = harness.Connect(null, sessionId: "s1");
        broker.Decide(ScriptedExecutionBroker.Attached());
        Assert.Equal(("stream", "a"), await NextAsync(second.Client, ct));
        Assert.Equal(held, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);

        // The queued cell is gated like any other, then runs, then what followed it.
        var (request, _) = await broker.NextCallAsync(ct);
        Assert.Equal("b", request.MsgId);
        broker.Decide(new ExecutionDecision(false, "none", null, false, null));
        Assert.Equal(queued, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);
        Assert.Equal(info, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);

        var reply = TestFrames.Utf8(TestFrames.LegacyJson(
            header: """{"msg_id":"r","msg_type":"execute_reply","session":"kernel","username":"u","date":"2024-01-01T00:00:00Z","version":"5.3"}""",
            parentHeader: """{"msg_id":"b","msg_type":"execute_request","session":"s1","username":"u","date":"2024-01-01T00:00:00Z","version":"5.3"}""",
            content: """{"status":"ok","execution_count":2}"""));
        await second.Kernel.SendAsync(reply, WebSocketMessageType.Text, true, ct);
        Assert.Equal(reply, (await RelayedConnection.ReceiveAsync(second.Client, ct)).Data);

        // Then the new channel's own messages.
        var (next, _) = CellFrames.Frame(Legacy, "shell", "d", "kernel_info_request", "{}");
        await second.Client.SendAsync(next, WebSocketMessageType.Text, true, ct);
        Assert.Equal(next, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);
        Assert.Equal(2, broker.CallCount);
        await CellFrames.CloseBothAsync(second, ct);
    }

    [Fact]
    public async Task SocketDropsAgain_BeforeTheCellIsDecided_BothChannelsQueuesGoToTheNextReconnect_InTheOrderSent()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var first = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Execute(Legacy, "a", "import torch");
        var (queued, _) = CellFrames.Execute(Legacy, "b", "print(1)");
        await DropWithQueuedAsync(harness, broker, first, [held, queued], ct);

        var second = harness.Connect(null, sessionId: "s1");
        var (info, _) = CellFrames.Frame(Legacy, "shell", "c", "kernel_info_request", "{}");
        await second.Client.SendAsync(info, WebSocketMessageType.Text, true, ct);
        while (harness.Relay.MessagesRead("k1") < 1)
        {
            await Task.Delay(10, ct);
        }

        second.Client.Abort();
        Assert.Equal(WebSocketMessageType.Close, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Type);
        await second.Kernel.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        await second.Relay.WaitAsync(ct);

        var third = harness.Connect(null, sessionId: "s1");
        broker.Decide(new ExecutionDecision(true, "import torch", ScriptedExecutionBroker.Attached().Attachment, false, null));
        Assert.Equal(held, (await RelayedConnection.ReceiveAsync(third.Kernel, ct)).Data);
        Assert.Equal("b", (await broker.NextCallAsync(ct)).Request.MsgId);
        broker.Decide(new ExecutionDecision(false, "none", null, false, null));
        Assert.Equal(queued, (await RelayedConnection.ReceiveAsync(third.Kernel, ct)).Data);
        Assert.Equal(info, (await RelayedConnection.ReceiveAsync(third.Kernel, ct)).Data);
        await CellFrames.CloseBothAsync(third, ct);
    }

    [Fact]
    public async Task HeldCellFails_WithStopOnError_TheCellQueuedBehindItIsAnsweredAborted_AndTheOtherMessagesStillGo()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var first = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Execute(Legacy, "a", "import torch");
        var (queued, _) = CellFrames.Execute(Legacy, "b", "print(1)");
        var (info, _) = CellFrames.Frame(Legacy, "shell", "c", "kernel_info_request", "{}");
        await DropWithQueuedAsync(harness, broker, first, [held, queued, info], ct);

        var second = harness.Connect(null, sessionId: "s1");
        broker.Decide(new ExecutionDecision(true, "import torch", null, false, "no GPU is free"));

        var answers = new List<(string, string?)>();
        for (var i = 0; i < 7; i++)
        {
            answers.Add(await NextAsync(second.Client, ct));
        }

        Assert.Equal(
            [("status", "a"), ("error", "a"), ("execute_reply", "a"), ("status", "a"), ("status", "b"), ("execute_reply", "b"), ("status", "b")],
            answers);
        Assert.Equal(info, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);
        Assert.Equal(1, broker.CallCount);
        await CellFrames.CloseBothAsync(second, ct);
    }

    [Fact]
    public async Task AdoptedCellFails_WithStopOnError_TheCellsTheReconnectedChannelReadMeanwhileAreAnsweredAbortedToo()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var first = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Execute(Legacy, "a", "import torch");
        var (queued, _) = CellFrames.Execute(Legacy, "b", "print(1)");
        await DropWithQueuedAsync(harness, broker, first, [held, queued], ct);

        // The browser resends, on the new socket, what it could not send while it was away.
        var second = harness.Connect(null, sessionId: "s1");
        var (resent, _) = CellFrames.Execute(Legacy, "c", "print(2)");
        await second.Client.SendAsync(resent, WebSocketMessageType.Text, true, ct);
        while (harness.Relay.MessagesRead("k1") < 1)
        {
            await Task.Delay(10, ct);
        }

        broker.Decide(new ExecutionDecision(true, "import torch", null, false, "no GPU is free"));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("a", (await NextAsync(second.Client, ct)).ParentMsgId);
        }

        Assert.Equal(["busy", "aborted", "idle"], await StatesAsync(second.Client, "b", ct));
        Assert.Equal(["busy", "aborted", "idle"], await StatesAsync(second.Client, "c", ct));
        Assert.Equal(1, broker.CallCount);
        await CellFrames.CloseBothAsync(second, ct);
    }

    [Fact]
    public async Task HeldCellFails_WithoutStopOnError_TheCellQueuedBehindItStillRuns()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var first = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Frame(Legacy, "shell", "a", "execute_request", """{"code":"import torch","silent":false,"stop_on_error":false}""");
        var (queued, _) = CellFrames.Execute(Legacy, "b", "print(1)");
        await DropWithQueuedAsync(harness, broker, first, [held, queued], ct);

        var second = harness.Connect(null, sessionId: "s1");
        await FailHeldThenRunQueuedAsync(broker, second, queued, ct);
        await CellFrames.CloseBothAsync(second, ct);
    }

    [Fact]
    public async Task HeldCellFailsOnALiveChannel_WithStopOnError_TheCellsSentBehindItAreAnsweredAborted_OtherMessagesGo_AndLaterCellsRun()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var logger = new RecordingLogger();
        var harness = new RelayHarness(broker, logger: logger);
        var connection = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Execute(Legacy, "a", "import torch");
        var (queued, _) = CellFrames.Execute(Legacy, "b", "print(1)");
        var (info, _) = CellFrames.Frame(Legacy, "shell", "c", "kernel_info_request", "{}");
        var (alsoQueued, _) = CellFrames.Execute(Legacy, "d", "print(2)");
        await SendBehindHeldAsync(harness, broker, connection, [held, queued, info, alsoQueued], ct);

        broker.Decide(new ExecutionDecision(true, "import torch", null, false, "no GPU is free"));

        // "Run All" after a failed attach: as the kernel does after an error, the cells sent behind it are aborted, not run.
        var answers = new List<(string, string?)>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add(await NextAsync(connection.Client, ct));
        }

        Assert.Equal(
            [("status", "a"), ("error", "a"), ("execute_reply", "a"), ("status", "a"),
             ("status", "b"), ("execute_reply", "b"), ("status", "b"), ("status", "d"), ("execute_reply", "d"), ("status", "d")],
            answers);
        Assert.Equal(info, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        Assert.Equal(["b", "d"], logger.Entries.Where(e => e.EventId == 2398).Select(e => e.State["MsgId"]));

        // A cell sent after the failure was answered is gated and runs as usual.
        var (after, _) = CellFrames.Execute(Legacy, "e", "print(3)");
        await connection.Client.SendAsync(after, WebSocketMessageType.Text, true, ct);
        Assert.Equal("e", (await broker.NextCallAsync(ct)).Request.MsgId);
        broker.Decide(new ExecutionDecision(false, "none", null, false, null));
        Assert.Equal(after, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        Assert.Equal(2, broker.CallCount);
        await CellFrames.CloseBothAsync(connection, ct);
    }

    [Fact]
    public async Task HeldCellFailsOnALiveChannel_WithStopOnError_EveryCellSentBehindItIsAborted_EvenThoseStillUnreadBeyondTheClientQueue()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var logger = new RecordingLogger();
        var harness = new RelayHarness(broker, logger: logger);
        var connection = harness.Connect(null, sessionId: "s1");

        // "Run All" of a long notebook: far more cells behind the held one than the relay reads ahead, so most of them
        // are still unread in the socket's buffer when the broker refuses the GPU. One other message sits among them.
        const int Behind = 40;
        var (held, _) = CellFrames.Execute(Legacy, "a", "import torch");
        await connection.Client.SendAsync(held, WebSocketMessageType.Text, true, ct);
        Assert.Equal("a", (await broker.NextCallAsync(ct)).Request.MsgId);
        var (info, _) = CellFrames.Frame(Legacy, "shell", "info", "kernel_info_request", "{}");
        var cells = Enumerable.Range(1, Behind).Select(i => $"c{i}").ToList();
        foreach (var msgId in cells)
        {
            await connection.Client.SendAsync(CellFrames.Execute(Legacy, msgId, "print(1)").Frame, WebSocketMessageType.Text, true, ct);
            if (msgId == "c30")
            {
                await connection.Client.SendAsync(info, WebSocketMessageType.Text, true, ct);
            }
        }

        // The reader fills the client queue and stops: the rest waits unread.
        while (harness.Relay.MessagesRead("k1") <= KernelChannelRelay.ClientQueueCapacity)
        {
            await Task.Delay(10, ct);
        }

        Assert.True(harness.Relay.MessagesRead("k1") < 1 + Behind, "the relay read every cell before the decision: the test no longer has unread cells behind the held one");
        broker.Decide(new ExecutionDecision(true, "import torch", null, false, "no GPU is free"));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("a", (await NextAsync(connection.Client, ct)).ParentMsgId);
        }

        foreach (var msgId in cells)
        {
            Assert.Equal(["busy", "aborted", "idle"], await StatesAsync(connection.Client, msgId, ct));
        }

        Assert.Equal(cells, logger.Entries.Where(e => e.EventId == 2398).Select(e => e.State["MsgId"]));

        // None of them reached the kernel: the first thing it gets is the other message, then a cell typed after the error.
        Assert.Equal(info, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        var (after, _) = CellFrames.Execute(Legacy, "after", "print(3)");
        await connection.Client.SendAsync(after, WebSocketMessageType.Text, true, ct);
        Assert.Equal("after", (await broker.NextCallAsync(ct)).Request.MsgId);
        broker.Decide(new ExecutionDecision(false, "none", null, false, null));
        Assert.Equal(after, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        Assert.Equal(2, broker.CallCount);
        var ended = Assert.Single(logger.Entries, e => e.EventId == 2307);
        Assert.Equal(("after", "a"), (ended.State["MsgId"], ended.State["HeldMsgId"]));
        await CellFrames.CloseBothAsync(connection, ct);
    }

    [Fact]
    public async Task HeldCellFailsWithStopOnError_WithNothingSentBehindIt_TheNextCellTheUserRunsAfterSeeingTheErrorRuns()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var logger = new RecordingLogger();
        var harness = new RelayHarness(broker, logger: logger);
        var connection = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Execute(Legacy, "a", "import torch");
        await SendBehindHeldAsync(harness, broker, connection, [held], ct);

        broker.Decide(new ExecutionDecision(true, "import torch", null, false, "no GPU is free"));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("a", (await NextAsync(connection.Client, ct)).ParentMsgId);
        }

        // The relay was waiting for the network when the failure was answered: what comes next was sent after it.
        var (next, _) = CellFrames.Execute(Legacy, "b", "print(1)");
        await connection.Client.SendAsync(next, WebSocketMessageType.Text, true, ct);
        Assert.Equal("b", (await broker.NextCallAsync(ct)).Request.MsgId);
        broker.Decide(new ExecutionDecision(false, "none", null, false, null));
        Assert.Equal(next, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        Assert.DoesNotContain(logger.Entries, e => e.EventId == 2398);
        await CellFrames.CloseBothAsync(connection, ct);
    }

    [Fact]
    public async Task AbortedCellsAreAnsweredWithExecuteReplyAborted_AsIpykernelAnswersThem()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var connection = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Execute(Legacy, "a", "import torch");
        var (queued, _) = CellFrames.Execute(Legacy, "b", "print(1)");
        await SendBehindHeldAsync(harness, broker, connection, [held, queued], ct);

        broker.Decide(new ExecutionDecision(true, "import torch", null, false, "no GPU is free"));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("a", (await NextAsync(connection.Client, ct)).ParentMsgId);
        }

        Assert.Equal(["busy", "aborted", "idle"], await StatesAsync(connection.Client, "b", ct));
        await CellFrames.CloseBothAsync(connection, ct);
    }

    [Fact]
    public async Task HeldCellFailsOnALiveChannel_WithoutStopOnError_TheCellSentBehindItStillRuns()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var connection = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Frame(Legacy, "shell", "a", "execute_request", """{"code":"import torch","silent":false,"stop_on_error":false}""");
        var (queued, _) = CellFrames.Execute(Legacy, "b", "print(1)");
        await SendBehindHeldAsync(harness, broker, connection, [held, queued], ct);

        await FailHeldThenRunQueuedAsync(broker, connection, queued, ct);
        await CellFrames.CloseBothAsync(connection, ct);
    }

    [Fact]
    public async Task ToolbarInterrupt_WhileTheCellIsParked_AbandonsTheHold_AndTheReconnectGetsItAndTheCellsBehindItAborted()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var logger = new RecordingLogger();
        var harness = new RelayHarness(broker, logger: logger);
        var first = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Execute(Legacy, "a", "import torch");
        var (queued, _) = CellFrames.Execute(Legacy, "b", "print(1)");
        var (info, _) = CellFrames.Frame(Legacy, "shell", "c", "kernel_info_request", "{}");
        var brokerToken = await DropWithQueuedAsync(harness, broker, first, [held, queued, info], ct);

        var reach = harness.Relay.InterruptKernel("k1", "u");

        Assert.Equal(new KernelChannelRelay.KernelInterruptReach(0, 1), reach);
        Assert.True(brokerToken.IsCancellationRequested, "the parked cell's broker call went on: a GPU could still be attached for it");
        Assert.Equal("a", Assert.Single(logger.Entries, e => e.EventId == 2304).State["MsgId"]);

        var second = harness.Connect(null, sessionId: "s1");
        Assert.Equal(["busy", "aborted", "idle"], await StatesAsync(second.Client, "a", ct));
        Assert.Equal(["busy", "aborted", "idle"], await StatesAsync(second.Client, "b", ct));
        Assert.Equal(info, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);

        // The interrupt covered only what was sent before it: the reconnected channel's own cells run.
        var (after, _) = CellFrames.Execute(Legacy, "d", "print(2)");
        await second.Client.SendAsync(after, WebSocketMessageType.Text, true, ct);
        Assert.Equal("d", (await broker.NextCallAsync(ct)).Request.MsgId);
        broker.Decide(new ExecutionDecision(false, "none", null, false, null));
        Assert.Equal(after, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);
        Assert.Equal(2, broker.CallCount);
        await CellFrames.CloseBothAsync(second, ct);
    }

    [Fact]
    public async Task ToolbarInterrupt_ForAnotherUsersKernel_LeavesTheParkedCellWaiting()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var first = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Execute(Legacy, "a", "import torch");
        var brokerToken = await DropWithQueuedAsync(harness, broker, first, [held], ct);

        Assert.Equal(new KernelChannelRelay.KernelInterruptReach(0, 0), harness.Relay.InterruptKernel("k1", "someone-else"));
        Assert.Equal(new KernelChannelRelay.KernelInterruptReach(0, 0), harness.Relay.InterruptKernel("k2", "u"));

        Assert.False(brokerToken.IsCancellationRequested);
        var second = harness.Connect(null, sessionId: "s1");
        broker.Decide(ScriptedExecutionBroker.Attached());
        Assert.Equal(("stream", "a"), await NextAsync(second.Client, ct));
        Assert.Equal(held, (await RelayedConnection.ReceiveAsync(second.Kernel, ct)).Data);
        await CellFrames.CloseBothAsync(second, ct);
    }

    [Fact]
    public async Task NoReconnectWithinTheGrace_LogsEachQueuedMessageByMsgId()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var logger = new RecordingLogger();
        var harness = new RelayHarness(broker, channelOptions: new KernelChannelOptions { ReconnectGrace = TimeSpan.FromMilliseconds(100) }, logger: logger);
        var first = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Execute(Legacy, "a", "import torch");
        var (queued, _) = CellFrames.Execute(Legacy, "b", "print(1)");
        var (info, _) = CellFrames.Frame(Legacy, "shell", "c", "kernel_info_request", "{}");
        var brokerToken = await DropWithQueuedAsync(harness, broker, first, [held, queued, info], ct);

        // The cell's broker call is cancelled once the grace ends; its followers are logged before that.
        await Task.Delay(Timeout.Infinite, brokerToken).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(ct);
        var aborted = Assert.Single(logger.Entries, e => e.EventId == 2395);
        Assert.Equal(("b", "a"), (aborted.State["MsgId"], aborted.State["HeldMsgId"]));
        var discarded = Assert.Single(logger.Entries, e => e.EventId == 2396);
        Assert.Equal(("c", "kernel_info_request"), (discarded.State["MsgId"], discarded.State["MsgType"]));
        Assert.Contains(logger.Entries, e => e.EventId == 2397 && Equals(e.State["Count"], 2));
    }

    /// <summary>Sends the frames (the first one is held by the broker), waits until the relay has read them all, then drops the socket.</summary>
    private static async Task<CancellationToken> DropWithQueuedAsync(RelayHarness harness, ScriptedExecutionBroker broker, RelayedConnection first, byte[][] frames, CancellationToken ct)
    {
        await first.Client.SendAsync(frames[0], WebSocketMessageType.Text, true, ct);
        var (request, brokerToken) = await broker.NextCallAsync(ct);
        Assert.Equal("a", request.MsgId);
        foreach (var frame in frames[1..])
        {
            await first.Client.SendAsync(frame, WebSocketMessageType.Text, true, ct);
        }

        while (harness.Relay.MessagesRead("k1") < frames.Length)
        {
            await Task.Delay(10, ct);
        }

        first.Client.Abort();

        // Nothing queued behind the held cell reaches the old kernel socket: it is closed.
        Assert.Equal(WebSocketMessageType.Close, (await RelayedConnection.ReceiveAsync(first.Kernel, ct)).Type);
        await first.Kernel.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        await first.Relay.WaitAsync(ct);
        return brokerToken;
    }

    /// <summary>Sends the frames (the first one is held by the broker) and waits until the relay has read them all.</summary>
    private static async Task SendBehindHeldAsync(RelayHarness harness, ScriptedExecutionBroker broker, RelayedConnection connection, byte[][] frames, CancellationToken ct)
    {
        await connection.Client.SendAsync(frames[0], WebSocketMessageType.Text, true, ct);
        Assert.Equal("a", (await broker.NextCallAsync(ct)).Request.MsgId);
        foreach (var frame in frames[1..])
        {
            await connection.Client.SendAsync(frame, WebSocketMessageType.Text, true, ct);
        }

        while (harness.Relay.MessagesRead("k1") < frames.Length)
        {
            await Task.Delay(10, ct);
        }
    }

    /// <summary>The next three frames, all parented to the cell: each status's execution_state, the reply's status.</summary>
    private static async Task<List<string>> StatesAsync(WebSocket client, string msgId, CancellationToken ct)
    {
        var states = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var frame = await DecodedKernelFrame.ReceiveAsync(client, Legacy, ct);
            Assert.Equal(msgId, frame.ParentMsgId);
            states.Add(frame.MsgType == "execute_reply" ? frame.Content.GetProperty("status").GetString()! : frame.Content.GetProperty("execution_state").GetString()!);
        }

        return states;
    }

    private static async Task<(string MsgType, string? ParentMsgId)> NextAsync(WebSocket client, CancellationToken ct)
    {
        var frame = await DecodedKernelFrame.ReceiveAsync(client, Legacy, ct);
        return (frame.MsgType, frame.ParentMsgId);
    }

    /// <summary>Keeps every log entry's event id and structured values.</summary>
    private sealed class RecordingLogger : ILogger<KernelChannelRelay>
    {
        private readonly ConcurrentQueue<Entry> _entries = new();

        public IReadOnlyList<Entry> Entries => [.. _entries];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state as IEnumerable<KeyValuePair<string, object?>> ?? [];
            _entries.Enqueue(new Entry(eventId.Id, values.ToDictionary(v => v.Key, v => v.Value)));
        }

        public sealed record Entry(int EventId, IReadOnlyDictionary<string, object?> State);
    }

    /// <summary>
    /// Held cell "a" (stop_on_error false) fails: the client gets its four answers, and cell "b" queued behind it is
    /// still asked about and, as a CPU cell, reaches the kernel.
    /// </summary>
    private static async Task FailHeldThenRunQueuedAsync(ScriptedExecutionBroker broker, RelayedConnection connection, byte[] queued, CancellationToken ct)
    {
        broker.Decide(new ExecutionDecision(true, "import torch", null, false, "no GPU is free"));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("a", (await NextAsync(connection.Client, ct)).ParentMsgId);
        }

        Assert.Equal("b", (await broker.NextCallAsync(ct)).Request.MsgId);
        broker.Decide(new ExecutionDecision(false, "none", null, false, null));
        Assert.Equal(queued, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
    }
}
