using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Attach.Gateway.Broker;
using Attach.Gateway.Channels.Protocol;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace Attach.Gateway.Channels;

/// <summary>
/// Terminates a browser's kernel-channel WebSocket and relays it to the Jupyter Server, byte for byte,
/// negotiating upstream whatever subprotocol the client offered. Each <c>execute_request</c> is shown to
/// the broker first (one that shows no GPU evidence at all by the broker's rules goes on at once, and the broker
/// is told of it in the background); a cell that needs a GPU is held (and every message behind it keeps its order) until
/// its slice is bound. The client is still read while a cell is held, so an <c>interrupt_request</c> can
/// abandon the hold. Busy/idle from iopub goes to the broker for the idle policy.
/// </summary>
internal sealed partial class KernelChannelRelay(
    IOptions<GatewayOptions> options,
    IExecutionBroker broker,
    ActivityReporter activity,
    KernelMessageFactory messages,
    IOptions<KernelChannelOptions> channelOptions,
    TimeProvider timeProvider,
    ILogger<KernelChannelRelay> logger)
{
    /// <summary>Status messages are tiny; larger kernel messages are forwarded without being parsed.</summary>
    private const int MaxStatusMessageBytes = 64 * 1024;

    private readonly GatewayOptions _options = options.Value;

    /// <summary>The open channels, so an interrupt sent over HTTP reaches the channels of its kernel.</summary>
    private readonly ConcurrentDictionary<Connection, byte> _connections = new();

    private readonly KernelChannelOptions _channelOptions = channelOptions.Value;

    private readonly HeldCellRegistry _held = new(channelOptions.Value.ReconnectGrace, timeProvider, logger);

    public Task RunAsync(HttpContext context, string kernelId) => RunAsync(context, kernelId, _options.JupyterUrl!, _options.JupyterToken);

    /// <summary>Relays to the Jupyter Server at <paramref name="jupyterUrl"/> (the user's own, in multi-user mode).</summary>
    public async Task RunAsync(HttpContext context, string kernelId, Uri jupyterUrl, string jupyterToken)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Results.Problem("Kernel channels are WebSockets: connect with ws:// or wss://.", statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
            return;
        }

        var user = context.User.Identity!.Name!;
        using var upstream = new ClientWebSocket();
        foreach (var subprotocol in context.WebSockets.WebSocketRequestedProtocols)
        {
            upstream.Options.AddSubProtocol(subprotocol);
        }

        upstream.Options.SetRequestHeader("Authorization", $"token {jupyterToken}");
        upstream.Options.CollectHttpResponseDetails = true;
        var upstreamUri = UpstreamUri(jupyterUrl, kernelId, context.Request.Query);
        try
        {
            await upstream.ConnectAsync(upstreamUri, context.RequestAborted);
        }
        catch (WebSocketException ex)
        {
            var status = upstream.HttpStatusCode;
            Log.UpstreamRefused(logger, kernelId, (int)status, ex.Message);
            await (status == HttpStatusCode.NotFound
                ? Results.Problem($"Kernel {kernelId} does not exist on the Jupyter Server.", statusCode: StatusCodes.Status404NotFound)
                : Results.Problem($"The Jupyter Server did not accept the kernel connection ({(status == 0 ? ex.Message : (int)status)}). Check that it is running.", statusCode: StatusCodes.Status502BadGateway))
                .ExecuteAsync(context);
            return;
        }

        using var client = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = upstream.SubProtocol });
        var sessionId = context.Request.Query["session_id"].FirstOrDefault();
        await RelayAsync(client, upstream, kernelId, user, upstream.SubProtocol, string.IsNullOrEmpty(sessionId) ? null : sessionId, context.RequestAborted, ClientWriteCoalescing.Of(context));
    }

    /// <summary>
    /// Relays one accepted client socket to one connected upstream socket until either side ends. A channel that
    /// reconnects the browser session <paramref name="sessionId"/> (the client's <c>session_id</c>) takes over the
    /// cell that session's previous channel held, if any. <paramref name="clientWrites"/>, the stream under the client
    /// socket when the gateway accepted it (<see cref="ClientWriteCoalescing"/>), lets the kernel's messages that arrive
    /// together go to the client in one write.
    /// </summary>
    internal async Task RelayAsync(WebSocket client, WebSocket upstream, string kernelId, string user, string? subprotocol, string? sessionId, CancellationToken cancellationToken, CoalescingStream? clientWrites = null)
    {
        using var connection = new Connection(kernelId, user, sessionId, KernelWireProtocols.FromSubprotocol(subprotocol), client, upstream, clientWrites);
        HeldCell? adopted = null;

        // Listed before it takes over a parked cell, so the toolbar's interrupt reaches the cell wherever it is: parked, or here.
        _connections.TryAdd(connection, 0);
        try
        {
            if (sessionId is not null)
            {
                // An older channel of the same session that still holds a cell has been replaced by this one (the
                // browser reconnected before the gateway saw the old socket drop): it lets go of the cell, this one takes it.
                // (This channel is in the list already but holds no cell yet, so it never lets go of anything here.)
                var handoff = false;
                foreach (var older in _connections.Keys)
                {
                    if (older.KernelId == kernelId && older.User == user && older.SessionId == sessionId && older.HoldsCell)
                    {
                        older.MarkClientGone();
                        handoff = true;
                    }
                }

                adopted = await _held.TakeAsync(new HeldCellKey(kernelId, user, sessionId), handoff, _channelOptions.CloseGrace, cancellationToken);
            }

            await RelayConnectionAsync(connection, subprotocol, adopted, cancellationToken);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
        }
    }

    /// <summary>
    /// An interrupt that did not come through the channel (the toolbar's <c>POST /api/kernels/{id}/interrupt</c>):
    /// on every open channel of this kernel and user, the held cell and the cells queued behind it are aborted
    /// exactly as an <c>interrupt_request</c> read at this moment would abort them; a cell of theirs parked for a
    /// browser's reconnect has its hold abandoned (no GPU is attached for it), and the reconnected channel answers it
    /// and the cells queued behind it as aborted. Returns how many channels and parked cells it reached.
    /// </summary>
    public KernelInterruptReach InterruptKernel(string kernelId, string user)
    {
        var reached = 0;
        foreach (var connection in _connections.Keys)
        {
            if (connection.KernelId != kernelId || connection.User != user)
            {
                continue;
            }

            reached++;
            if (connection.InterruptEverythingRead() is { } heldMsgId)
            {
                Log.HoldInterrupted(logger, kernelId, heldMsgId);
            }
        }

        var parked = _held.Interrupt(kernelId, user);
        foreach (var msgId in parked)
        {
            Log.ParkedHoldInterrupted(logger, kernelId, msgId);
        }

        return new KernelInterruptReach(reached, parked.Count);
    }

    /// <summary>What the toolbar's interrupt reached: open channels of the kernel, and cells parked for a browser's reconnect.</summary>
    public readonly record struct KernelInterruptReach(int Channels, int ParkedCells);

    /// <summary>How many client messages the open channels of this kernel have read (for tests that must order an interrupt after a read).</summary>
    internal long MessagesRead(string kernelId) =>
        _connections.Keys.Where(c => c.KernelId == kernelId).Sum(c => c.LastRead);

    private async Task RelayConnectionAsync(Connection connection, string? subprotocol, HeldCell? adopted, CancellationToken cancellationToken)
    {
        var (kernelId, user) = (connection.KernelId, connection.User);
        Log.Connected(logger, kernelId, user, subprotocol ?? "legacy");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var gone = stop.Token.Register(connection.MarkClientGone);
        var toKernel = PumpClientToKernelAsync(connection, adopted, stop.Token);
        var toClient = PumpKernelToClientAsync(connection, stop.Token);
        var first = await Task.WhenAny(toKernel, toClient);
        if (first.IsFaulted)
        {
            Log.RelayFailed(logger, first.Exception!.GetBaseException(), kernelId);
        }

        // One side has closed (its pump passed the close on) or failed: give the other a moment to finish its close, then stop.
        await Task.WhenAny(Task.WhenAll(toKernel, toClient), Task.Delay(_channelOptions.CloseGrace, timeProvider, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default));
        await stop.CancelAsync();
        await Task.WhenAll(toKernel, toClient).ContinueWith(_ => { }, TaskScheduler.Default);
        Log.Disconnected(logger, kernelId, user);
    }

    private static Uri UpstreamUri(Uri jupyter, string kernelId, IQueryCollection query)
    {
        var builder = new UriBuilder(new Uri(jupyter, $"api/kernels/{Uri.EscapeDataString(kernelId)}/channels"))
        {
            Scheme = jupyter.Scheme == Uri.UriSchemeHttps ? "wss" : "ws",
        };
        var forwarded = query
            .Where(q => q.Key != Security.GatewayAuthDefaults.TokenQuery)
            .SelectMany(q => q.Value.Select(v => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(v ?? "")}"));
        builder.Query = string.Join('&', forwarded);
        return builder.Uri;
    }

    private async Task PumpKernelToClientAsync(Connection connection, CancellationToken cancellationToken)
    {
        using var buffer = new MessageBuffer(_options.MaxMessageBytes);
        try
        {
            await RelayKernelMessagesAsync(connection, buffer, cancellationToken);
        }
        finally
        {
            // Stopped with messages still gathered (the relay is ending): they go if the client can still take them.
            using var timeout = new CancellationTokenSource(_channelOptions.CloseGrace);
            await connection.FlushClientAsync(timeout.Token);
        }
    }

    private async Task RelayKernelMessagesAsync(Connection connection, MessageBuffer buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            var receiving = buffer.ReceiveAsync(connection.Upstream, cancellationToken);
            if (!receiving.IsCompleted)
            {
                // Nothing more from the kernel yet: what was gathered goes now, before the wait.
                await connection.FlushClientAsync(cancellationToken);
            }

            var outcome = await receiving;
            switch (outcome)
            {
                case ReceiveOutcome.Closed:
                    await connection.CloseClientAsync(connection.Upstream.CloseStatus ?? WebSocketCloseStatus.NormalClosure, connection.Upstream.CloseStatusDescription);
                    return;
                case ReceiveOutcome.TooBig:
                    Log.KernelMessageTooBig(logger, connection.KernelId, _options.MaxMessageBytes);
                    await connection.CloseClientAsync(WebSocketCloseStatus.MessageTooBig, "kernel message over the gateway's size limit");
                    await CloseQuietlyAsync(connection.Upstream, WebSocketCloseStatus.MessageTooBig, "message over the gateway's size limit");
                    return;
            }

            var frame = buffer.Message;
            var isText = outcome == ReceiveOutcome.Text;
            if (frame.Length <= MaxStatusMessageBytes
                && KernelMessageParser.TryParse(frame, isText, connection.Protocol, out var message, out _)
                && message is { Channel: "iopub", MsgType: "status", ParentMsgType: "execute_request", ExecutionState: "busy" or "idle" })
            {
                var state = message.ExecutionState == "busy" ? KernelActivity.Busy : KernelActivity.Idle;
                activity.Enqueue(new ObservedActivity(connection.KernelId, connection.User, new KernelActivityReport(state, message.ParentMsgId)));
            }

            // Gathered, not sent, while the kernel's next message is already in: it goes with the last of them.
            connection.DeferClientWrites();
            await connection.SendToClientAsync(new KernelFrame(frame, isText), cancellationToken);
        }
    }

    /// <summary>The line a held cell shows while it waits: the broker's own words, prefixed like every gateway line.</summary>
    internal static string ProgressText(ExecutionProgress progress)
    {
        if (!string.IsNullOrWhiteSpace(progress.Message))
        {
            return $"attach: {progress.Message}";
        }

        return progress switch
        {
            { Phase: ExecutionPhase.Queued, QueuePosition: { } position, QueueLength: { } length, EtaSeconds: { } eta } =>
                $"attach: waiting for a GPU: position {position} of {length}, about {eta:0} s",
            { Phase: ExecutionPhase.Queued, QueuePosition: { } position, QueueLength: { } length } =>
                $"attach: waiting for a GPU: position {position} of {length}",
            { Phase: ExecutionPhase.Queued } => "attach: waiting for a GPU",
            { Phase: ExecutionPhase.Resuming } => "attach: resuming the kernel's GPU state",
            _ => "attach: attaching a GPU",
        };
    }

    internal static string AttachedMessage(AttachmentInfo attached) =>
        $"attach: GPU {attached.GpuIndex} ({attached.GpuName}), {MemorySize.Format(attached.SliceMemoryMiB)} slice attached, waited {attached.WaitSeconds:0.00} s\n";

    /// <summary>Answers a held cell as a kernel answers a failed one: busy, error, execute_reply(error), idle.</summary>
    private async Task AnswerWithErrorAsync(Connection connection, ReadOnlyMemory<byte> parent, string text, CancellationToken cancellationToken)
    {
        string[] traceback = [$"AttachError: {text}"];
        var protocol = connection.Protocol;
        await connection.SendToClientAsync(messages.Status(protocol, parent, "busy"), cancellationToken);
        await connection.SendToClientAsync(messages.Error(protocol, parent, "AttachError", text, traceback), cancellationToken);
        await connection.SendToClientAsync(messages.ExecuteReplyError(protocol, parent, "AttachError", text, traceback), cancellationToken);
        await connection.SendToClientAsync(messages.Status(protocol, parent, "idle"), cancellationToken);
    }

    private static async Task CloseQuietlyAsync(WebSocket socket, WebSocketCloseStatus status, string? description)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.CloseOutputAsync(status, Truncate(description), timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer is already gone; there is nobody left to tell.
        }
    }

    /// <summary>A close description is at most 123 UTF-8 bytes.</summary>
    private static string? Truncate(string? description) =>
        description is null || System.Text.Encoding.UTF8.GetByteCount(description) <= 123 ? description : description[..Math.Min(description.Length, 60)] + "…";

    /// <summary>
    /// One relayed connection: both sockets, the lock that serialises sends to the client, and what the
    /// reader and the forwarder share about interrupts and the held cell.
    /// </summary>
    private sealed class Connection(string kernelId, string user, string? sessionId, KernelWireProtocol protocol, WebSocket client, WebSocket upstream, CoalescingStream? clientWrites) : IDisposable
    {
        private readonly SendGate _clientSend = new();
        private readonly CancellationTokenSource _clientGone = new();
        private readonly Lock _holdLock = new();
        private readonly Lock _abortLock = new();
        private long _interruptedBefore;
        private long _abortedAfterErrorBefore;
        private int _aborting;
        private string? _failedCellMsgId;
        private long _lastRead;
        private long _heldSequence;
        private string? _heldMsgId;
        private CancellationTokenSource? _hold;
        private ClientEnd? _clientEnded;

        public string KernelId { get; } = kernelId;

        public string User { get; } = user;

        /// <summary>The browser session's id (the channel's session_id), when the client gave one.</summary>
        public string? SessionId { get; } = sessionId;

        /// <summary>Cancelled once the client has left (closed, dropped, or replaced by a reconnect of its session).</summary>
        public CancellationToken ClientGone => _clientGone.Token;

        public bool HoldsCell
        {
            get
            {
                lock (_holdLock)
                {
                    return _hold is not null;
                }
            }
        }

        public void MarkClientGone()
        {
            try
            {
                _clientGone.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The connection has ended.
            }
        }

        public KernelWireProtocol Protocol { get; } = protocol;

        /// <summary>
        /// The held cell this channel let go of when its client left, until the forwarder has put what was queued
        /// behind it with it and parked it. Only the forwarder touches it.
        /// </summary>
        public HeldCell? Leaving { get; set; }

        public WebSocket Client { get; } = client;

        public WebSocket Upstream { get; } = upstream;

        /// <summary>How the client's side ended, once the reader has stopped.</summary>
        public ClientEnd? ClientEnded => Volatile.Read(ref _clientEnded);

        public void EndClient(ClientEnd end) => Volatile.Write(ref _clientEnded, end);

        /// <summary>
        /// Numbers the next client message read (1, 2, 3, …); only the reader calls it. Lock-free unless the connection
        /// is aborting after a failed cell (see <see cref="AbortCellsReadBeforeNow"/>): then a message whose receive did not
        /// wait for the network was already buffered, sent before the failure was answered, and is aborted too; the first
        /// one that waited ends the aborting, and <paramref name="abortingEndedAfter"/> names the failed cell.
        /// </summary>
        public long NextSequence(bool waitedForNetwork, out string? abortingEndedAfter)
        {
            abortingEndedAfter = null;

            // Dekker with AbortCellsReadBeforeNow (both sides write, full fence, then read): the forwarder either sees this
            // message as read and bounds past it, or this sees the aborting and decides under the lock.
            var sequence = Interlocked.Increment(ref _lastRead);
            if (Volatile.Read(ref _aborting) == 0)
            {
                return sequence;
            }

            lock (_abortLock)
            {
                if (_aborting == 0 || sequence < _abortedAfterErrorBefore)
                {
                    // Not aborting any more, or read before the failure was answered: the bound already says what to do.
                    return sequence;
                }

                if (waitedForNetwork)
                {
                    // Everything the client had sent before the failure was answered has been read: this was sent after.
                    Volatile.Write(ref _aborting, 0);
                    abortingEndedAfter = _failedCellMsgId;
                }
                else
                {
                    Volatile.Write(ref _abortedAfterErrorBefore, sequence + 1);
                }
            }

            return sequence;
        }

        public long LastRead => Volatile.Read(ref _lastRead);

        /// <summary>An interrupt from outside the channel: everything read so far counts as before it.</summary>
        public string? InterruptEverythingRead() => Interrupt(Volatile.Read(ref _lastRead) + 1);

        /// <summary>Whether an interrupt was read after the message with this sequence number (it only ever grows, so no lock).</summary>
        public bool IsInterrupted(long sequence) => sequence < Volatile.Read(ref _interruptedBefore);

        /// <summary>
        /// A held cell that asked stop_on_error failed (the gateway answered it): as ipykernel flushes its shell stream and
        /// aborts every execute_request waiting there after an error, every one the client had sent behind it is to be
        /// answered as aborted. Those read so far are bounded now; the connection then stays aborting, so the reader also
        /// counts what it reads without waiting for the network (already buffered, so sent before the client could see
        /// the error, e.g. the rest of a "Run All" beyond the client queue), until a receive has to wait. Only the forwarder calls it.
        /// </summary>
        public void AbortCellsReadBeforeNow(string failedMsgId)
        {
            lock (_abortLock)
            {
                _failedCellMsgId = failedMsgId;

                // A full fence between announcing the aborting and reading how far the reader got: see NextSequence.
                Interlocked.Exchange(ref _aborting, 1);
                var bound = Volatile.Read(ref _lastRead) + 1;
                Volatile.Write(ref _abortedAfterErrorBefore, Math.Max(_abortedAfterErrorBefore, bound));
            }
        }

        /// <summary>
        /// Whether the execute_request with this sequence number was sent before a failed stop_on_error cell was answered;
        /// if so, <paramref name="failedMsgId"/> names that cell. Only the forwarder calls it; the reader moved the bound
        /// before it queued the message, so the bound read here covers it.
        /// </summary>
        public bool IsAbortedAfterError(long sequence, out string? failedMsgId)
        {
            failedMsgId = Volatile.Read(ref _failedCellMsgId);
            return sequence < Volatile.Read(ref _abortedAfterErrorBefore);
        }

        /// <summary>Marks a cell as held, unless an interrupt after it has already been read.</summary>
        public bool TryBeginHold(long sequence, string msgId, CancellationTokenSource hold)
        {
            lock (_holdLock)
            {
                if (sequence < _interruptedBefore)
                {
                    return false;
                }

                (_heldSequence, _heldMsgId, _hold) = (sequence, msgId, hold);
                return true;
            }
        }

        public void EndHold()
        {
            lock (_holdLock)
            {
                (_heldSequence, _heldMsgId, _hold) = (0, null, null);
            }
        }

        /// <summary>
        /// Records an interrupt read at this sequence number: every execute_request before it that has not
        /// reached the kernel is aborted, and a hold in progress is abandoned. Returns the held cell's msg_id, if any.
        /// </summary>
        public string? Interrupt(long sequence)
        {
            CancellationTokenSource? hold;
            string? heldMsgId;
            lock (_holdLock)
            {
                Volatile.Write(ref _interruptedBefore, Math.Max(_interruptedBefore, sequence));
                if (_hold is null || _heldSequence >= sequence)
                {
                    return null;
                }

                (hold, heldMsgId) = (_hold, _heldMsgId);
            }

            // Outside the lock: cancellation may run the gate's continuation inline.
            try
            {
                hold.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The hold ended on its own meanwhile; the forwarder still sees the interrupt by sequence number.
            }

            return heldMsgId;
        }

        /// <summary>Kernel output and the gateway's own messages share the client socket, which takes one send at a time.</summary>
        public async Task SendToClientAsync(KernelFrame frame, CancellationToken cancellationToken)
        {
            await _clientSend.EnterAsync(cancellationToken);
            try
            {
                // After the gateway closed a misbehaving client, answers for what it had queued have nowhere to go.
                if (Client.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await Client.SendAsync(frame.Data, frame.IsText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
                }
            }
            finally
            {
                _clientSend.Exit();
            }
        }

        /// <summary>From now until <see cref="FlushClientAsync"/>, sends to the client gather (when the client socket allows it).</summary>
        public void DeferClientWrites() => clientWrites?.Defer();

        /// <summary>Sends what gathered since <see cref="DeferClientWrites"/>; a client already gone is nobody to tell.</summary>
        public async ValueTask FlushClientAsync(CancellationToken cancellationToken)
        {
            if (clientWrites is null)
            {
                return;
            }

            try
            {
                await clientWrites.FlushDeferredAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or ConnectionAbortedException)
            {
                // The client's connection is gone; its pump or reader reports how.
            }
        }

        public async Task CloseClientAsync(WebSocketCloseStatus status, string? description)
        {
            // Whatever gathered goes before the close frame.
            await FlushClientAsync(CancellationToken.None);
            await _clientSend.EnterAsync(CancellationToken.None);
            try
            {
                await CloseQuietlyAsync(Client, status, description);
            }
            finally
            {
                _clientSend.Exit();
            }
        }

        public void Dispose()
        {
            _clientSend.Dispose();
            _clientGone.Dispose();
        }
    }
}
