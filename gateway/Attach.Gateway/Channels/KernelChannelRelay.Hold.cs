using System.Net.WebSockets;
using System.Threading.Channels;
using Attach.Contracts.Kernels;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Channels;

/// <summary>
/// Holding a GPU cell. The hold belongs to the kernel and the browser session, not to one WebSocket: when the
/// browser's channel drops while a cell waits, the broker call goes on and the cell is parked; a channel that
/// reconnects with the same kernel and session takes it over, shows its state, and sends it to the kernel once
/// the GPU is attached. Only one broker call is ever made for the cell.
/// </summary>
internal sealed partial class KernelChannelRelay
{
    /// <summary>
    /// Asks the broker about one cell and waits while it attaches. <see cref="GateOutcome.Forward"/>: send the
    /// cell; <see cref="GateOutcome.Answered"/>: the gateway answered it itself (the attach failed: the cell says
    /// why and is not run); <see cref="GateOutcome.Interrupted"/>: an interrupt abandoned the hold;
    /// <see cref="GateOutcome.ClientGone"/>: the browser left and the cell was parked for its reconnect.
    /// </summary>
    private async Task<GateOutcome> GateExecutionAsync(Connection connection, ClientMessage message, string code, CancellationToken cancellationToken)
    {
        var cell = new HeldCell(message, connection.KernelId, connection.Protocol, KeyOf(connection, message.Summary), messages, logger);
        if (!connection.TryBeginHold(message.Sequence, message.Summary.MsgId, cell.Hold))
        {
            cell.Dispose();
            return GateOutcome.Interrupted;
        }

        cell.Hold.CancelAfter(_options.AttachTimeout);
        await cell.AttachToAsync(connection, cancellationToken);
        cell.Start(broker.ExecuteAsync(connection.KernelId, connection.User, new ExecutionRequest(message.Summary.MsgId, code), cell.ShowProgressAsync, cell.Hold.Token));
        var outcome = GateOutcome.Forward;
        try
        {
            outcome = await AwaitCellAsync(connection, cell, message.Sequence, cancellationToken);
            return outcome;
        }
        finally
        {
            // A parked cell now belongs to the registry (message and all); otherwise the forwarder still owns the message.
            if (outcome != GateOutcome.ClientGone)
            {
                cell.Dispose();
            }
        }
    }

    /// <summary>Waits for the held cell's decision on this connection and acts on it; parks the cell if the client leaves first.</summary>
    private async Task<GateOutcome> AwaitCellAsync(Connection connection, HeldCell cell, long sequence, CancellationToken cancellationToken)
    {
        var request = cell.Message.Summary;
        var parent = request.HeaderJson;
        try
        {
            await cell.Decision.WaitAsync(connection.ClientGone);
        }
        catch (OperationCanceledException) when (!cell.Decision.IsCompleted)
        {
            connection.EndHold();
            cell.Detach();
            cell.SequenceOnChannel = sequence;

            // The forwarder parks it once what was queued behind it is with it (ParkLeaving).
            connection.Leaving = cell;
            return GateOutcome.ClientGone;
        }
        catch (Exception)
        {
            // Looked at below, through the task.
        }

        connection.EndHold();
        ExecutionDecision decision;
        try
        {
            decision = await cell.Decision;
        }
        catch (OperationCanceledException) when (connection.IsInterrupted(sequence))
        {
            return GateOutcome.Interrupted;
        }
        catch (OperationCanceledException)
        {
            Log.AttachTimedOut(logger, connection.KernelId, request.MsgId, _options.AttachTimeout);
            await AnswerWithErrorAsync(connection, parent, $"No GPU was attached within {_options.AttachTimeout.TotalSeconds:0} s, so the cell was not run. Run it again to retry; if this repeats, ask your platform team about the pool.", cancellationToken);
            return GateOutcome.Answered;
        }
        catch (Exception ex) when (ex is HttpRequestException or Polly.ExecutionRejectedException or System.Text.Json.JsonException)
        {
            // Fail open: the notebook keeps working without the broker, and the process shim still catches real CUDA use.
            Log.BrokerUnavailable(logger, connection.KernelId, request.MsgId, ex.Message);
            await connection.SendToClientAsync(
                messages.Stream(connection.Protocol, parent, "stderr", "attach: the GPU broker could not be reached, so this cell runs without a GPU check. If it needs a GPU, run it again in a moment.\n"),
                cancellationToken);
            return GateOutcome.Forward;
        }

        if (!decision.NeedsGpu)
        {
            return GateOutcome.Forward;
        }

        if (decision.Attachment is { } attached)
        {
            Log.CellReleased(logger, connection.KernelId, request.MsgId, decision.Rule, attached.GpuIndex, attached.WaitSeconds * 1000);
            if (decision.NewlyAttached)
            {
                await connection.SendToClientAsync(messages.Stream(connection.Protocol, parent, "stdout", AttachedMessage(attached)), cancellationToken);
            }

            return GateOutcome.Forward;
        }

        Log.CellRefused(logger, connection.KernelId, request.MsgId, decision.Error ?? "unknown");
        await AnswerWithErrorAsync(connection, parent, $"No GPU could be attached: {decision.Error}. The cell was not run.", cancellationToken);
        return GateOutcome.Answered;
    }

    /// <summary>
    /// The client left while a cell was held: the messages it had queued behind the cell (<paramref name="carried"/>
    /// from an earlier channel first, then this channel's queue) go with the cell, in order, and the cell is parked
    /// for the browser's reconnect. Without a session to reconnect to, the cell and each of them is dropped with a log line.
    /// </summary>
    private void ParkLeaving(Connection connection, Queue<ClientMessage> carried, ChannelReader<ClientMessage> queue)
    {
        var cell = connection.Leaving!;
        connection.Leaving = null;
        while (carried.TryDequeue(out var message))
        {
            cell.Followers.Add(message);
        }

        while (queue.TryRead(out var message))
        {
            cell.Followers.Add(message);
        }

        // An interrupt read (or sent from the toolbar) after the cell, once its hold had been let go of: it still counts.
        if (connection.IsInterrupted(cell.SequenceOnChannel) && cell.TryMarkInterrupted())
        {
            Log.HoldInterrupted(logger, connection.KernelId, cell.Message.Summary.MsgId);
            cell.CancelHold();
        }

        var msgId = cell.Message.Summary.MsgId;
        if (cell.Key is not { } key)
        {
            Log.HeldCellDropped(logger, connection.KernelId, msgId);
            cell.Abandon("the channel named no browser session to reconnect to");
            return;
        }

        Log.HeldCellParked(logger, connection.KernelId, msgId);
        if (cell.Followers.Count > 0)
        {
            Log.QueuedMessagesParked(logger, connection.KernelId, cell.Followers.Count, msgId);
        }

        _held.Park(key, cell);
    }

    /// <summary>
    /// Finishes, on this (reconnected) channel, a cell held on an earlier one: shows its state, waits for the same
    /// broker call, then sends it to the kernel or answers it. The messages queued behind it on the earlier channel
    /// then go to <paramref name="carried"/>, to be forwarded before anything this channel reads, except that after a
    /// failure with stop_on_error its queued cells are answered as aborted, as a kernel answers them. Returns false
    /// when this client left too (parked again, followers and all).
    /// </summary>
    private async Task<bool> ForwardAdoptedAsync(Connection connection, HeldCell cell, Queue<ClientMessage> carried, CancellationToken cancellationToken)
    {
        var request = cell.Message.Summary;
        if (cell.Protocol != connection.Protocol)
        {
            // The same browser session reconnects with the same protocol; bytes of the other protocol cannot be relayed.
            Log.HeldCellDropped(logger, connection.KernelId, request.MsgId);
            cell.Abandon("the browser reconnected with the other wire protocol");
            return true;
        }

        Log.HeldCellAdopted(logger, connection.KernelId, request.MsgId);
        if (cell.Interrupted)
        {
            // Interrupted while parked (the toolbar's interrupt, from another tab): it and the cells queued behind it
            // (sequence 0 here) are aborted, as if the interrupt had been read before anything on this channel.
            connection.Interrupt(1);
        }

        var parked = false;
        try
        {
            // Sequence 0: the adopted cell comes before anything this channel reads, so any interrupt aborts it.
            var outcome = GateOutcome.Interrupted;
            if (connection.TryBeginHold(0, request.MsgId, cell.Hold))
            {
                await cell.AttachToAsync(connection, cancellationToken);
                outcome = await AwaitCellAsync(connection, cell, 0, cancellationToken);
            }
            else
            {
                await cell.Hold.CancelAsync();
            }

            switch (outcome)
            {
                case GateOutcome.ClientGone:
                    parked = true;
                    return false;
                case GateOutcome.Interrupted:
                    // The interrupt came after the queued cells too: as sequence 0 they are aborted when forwarded.
                    await AnswerAbortedAsync(connection, cell.Message, cancellationToken);
                    break;
                case GateOutcome.Forward:
                    await connection.Upstream.SendAsync(cell.Message.Data, cell.Message.IsText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
                    break;
                case GateOutcome.Answered when request.StopOnError:
                    await AbortQueuedCellsAsync(connection, cell, cancellationToken);

                    // And the cells this channel has read while the cell was held on it: the client sent them behind it too.
                    connection.AbortCellsReadBeforeNow(request.MsgId);
                    break;
            }

            foreach (var follower in cell.Followers)
            {
                // Read before anything on this channel, so an interrupt read here comes after them.
                carried.Enqueue(follower.Renumbered(0));
                follower.Dispose();
            }

            cell.Followers.Clear();
            return true;
        }
        finally
        {
            if (!parked)
            {
                cell.Abandon("the reconnected channel ended before they were sent");
            }
        }
    }

    /// <summary>
    /// The held cell failed and asked stop_on_error (the default): as ipykernel aborts its queue after an error, each
    /// execute_request queued behind it is answered busy, execute_reply(aborted), idle and not sent. Other messages stay.
    /// </summary>
    private async Task AbortQueuedCellsAsync(Connection connection, HeldCell cell, CancellationToken cancellationToken)
    {
        for (var i = 0; i < cell.Followers.Count;)
        {
            var follower = cell.Followers[i];
            if (!follower.IsExecuteRequest)
            {
                i++;
                continue;
            }

            cell.Followers.RemoveAt(i);
            using (follower)
            {
                Log.QueuedCellAbortedAfterError(logger, connection.KernelId, follower.Summary.MsgId, cell.Message.Summary.MsgId);
                await SendAbortedAsync(connection, follower, cancellationToken);
            }
        }
    }

    /// <summary>Which browser a hold belongs to: the channel's session_id (the client's id), else the request's header.session.</summary>
    private static HeldCellKey? KeyOf(Connection connection, KernelMessageSummary request) =>
        (connection.SessionId ?? request.Session) is { Length: > 0 } session ? new HeldCellKey(connection.KernelId, connection.User, session) : null;

    /// <summary>A browser session's channel to one kernel, as a user.</summary>
    private readonly record struct HeldCellKey(string KernelId, string User, string Session);

    /// <summary>
    /// One cell held for a GPU: the message (owned), the broker call, and where its progress is shown. Progress goes
    /// to the channel the cell is attached to now; while none is, the last line is kept to show on the next.
    /// </summary>
    /// <remarks>
    /// Sends use the channel's token, not the hold's: cancelling a WebSocket send aborts the socket, and an
    /// interrupt must only end the hold. A send that fails because the client left does not end the broker call.
    /// </remarks>
    private sealed class HeldCell(ClientMessage message, string kernelId, KernelWireProtocol protocol, HeldCellKey? key, KernelMessageFactory messages, ILogger logger) : IDisposable
    {
        private readonly Lock _lock = new();
        private readonly string _displayId = $"attach-wait-{message.Summary.MsgId}";
        private Connection? _sink;
        private CancellationToken _sinkToken;
        private string? _lastProgress;
        private bool _shown;
        private int _interrupted;

        public ClientMessage Message { get; } = message;

        public KernelWireProtocol Protocol { get; } = protocol;

        public HeldCellKey? Key { get; } = key;

        /// <summary>
        /// What the client had sent behind the cell when its channel dropped, in order (owned): the channel that
        /// takes the cell over sends them after it. Only the forwarder that parks or adopts the cell touches it.
        /// </summary>
        public List<ClientMessage> Followers { get; } = [];

        /// <summary>Cancelled by an interrupt or the attach timeout; it cancels the broker call.</summary>
        public CancellationTokenSource Hold { get; } = new();

        /// <summary>The cell's sequence number on the channel that let go of it (its reader's numbering), until it is parked.</summary>
        public long SequenceOnChannel { get; set; }

        /// <summary>Whether an interrupt abandoned the hold while no channel held the cell: it is to be answered as aborted.</summary>
        public bool Interrupted => Volatile.Read(ref _interrupted) != 0;

        /// <summary>Marks the cell to be answered as aborted when a channel takes it; false if it already was.</summary>
        public bool TryMarkInterrupted() => Interlocked.Exchange(ref _interrupted, 1) == 0;

        /// <summary>Abandons the hold: the broker call is cancelled, so no GPU is attached for the cell.</summary>
        public void CancelHold()
        {
            try
            {
                Hold.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Abandoned meanwhile (the grace ended): there is no broker call left to cancel.
            }
        }

        public Task<ExecutionDecision> Decision { get; private set; } = Task.FromCanceled<ExecutionDecision>(new CancellationToken(true));

        public void Start(Task<ExecutionDecision> decision) => Decision = decision;

        public async ValueTask ShowProgressAsync(ExecutionProgress progress, CancellationToken holdToken)
        {
            holdToken.ThrowIfCancellationRequested();
            Connection? sink;
            CancellationToken token;
            bool shown;
            var text = ProgressText(progress);
            lock (_lock)
            {
                (_lastProgress, sink, token, shown) = (text, _sink, _sinkToken, _shown);
                _shown |= sink is not null;
            }

            if (sink is not null)
            {
                await SendQuietlyAsync(sink, text, shown, token);
            }
        }

        /// <summary>Makes this channel the one the cell's progress goes to, and shows it the last line, if any.</summary>
        public async Task AttachToAsync(Connection connection, CancellationToken cancellationToken)
        {
            string? text;
            bool shown;
            lock (_lock)
            {
                (_sink, _sinkToken, text, shown) = (connection, cancellationToken, _lastProgress, _shown);
                _shown |= text is not null;
            }

            if (text is not null)
            {
                await SendQuietlyAsync(connection, text, shown, cancellationToken);
            }
        }

        public void Detach()
        {
            lock (_lock)
            {
                (_sink, _sinkToken) = (null, default);
            }
        }

        /// <summary>
        /// Gives up on a cell the relay owns: the broker call is cancelled (the broker drops the waiter) and the message
        /// freed. Each message still queued behind it is logged by msg_id (a cell as aborted, anything else as discarded) and freed.
        /// </summary>
        public void Abandon(string reason)
        {
            foreach (var follower in Followers)
            {
                if (follower.IsExecuteRequest)
                {
                    Log.QueuedCellAborted(logger, kernelId, follower.Summary.MsgId, Message.Summary.MsgId, reason);
                }
                else
                {
                    Log.QueuedMessageDiscarded(logger, kernelId, follower.Summary.MsgType, follower.Summary.MsgId, Message.Summary.MsgId, reason);
                }

                follower.Dispose();
            }

            Followers.Clear();

            try
            {
                Hold.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already abandoned.
            }

            Message.Dispose();
            Dispose();
        }

        /// <summary>Ends the hold's timer; the message stays with whoever forwards it.</summary>
        public void Dispose() => Hold.Dispose();

        private async Task SendQuietlyAsync(Connection connection, string text, bool update, CancellationToken token)
        {
            var parent = Message.Summary.HeaderJson;
            var frame = update
                ? messages.UpdateDisplayData(connection.Protocol, parent, _displayId, text)
                : messages.DisplayData(connection.Protocol, parent, _displayId, text);
            try
            {
                await connection.SendToClientAsync(frame, token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client left; the cell keeps waiting for its reconnect.
            }
        }
    }

    /// <summary>Cells whose channel dropped, kept for the browser's reconnect; each is dropped after <see cref="KernelChannelOptions.ReconnectGrace"/>.</summary>
    private sealed class HeldCellRegistry(TimeSpan grace, TimeProvider timeProvider, ILogger logger)
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<HeldCellKey, HeldCell> _parked = [];
        private readonly Dictionary<HeldCellKey, TaskCompletionSource<HeldCell>> _waiting = [];

        public void Park(HeldCellKey key, HeldCell cell)
        {
            HeldCell? replaced = null;
            lock (_lock)
            {
                if (_waiting.Remove(key, out var waiter) && waiter.TrySetResult(cell))
                {
                    return;
                }

                _parked.Remove(key, out replaced);
                _parked[key] = cell;
            }

            replaced?.Abandon("a newer held cell of the same browser session replaced it");
            _ = ExpireAsync(key, cell);
        }

        /// <summary>
        /// The toolbar's interrupt reaches the cells of this kernel and user parked for a reconnect: each hold is abandoned
        /// (its broker call cancelled) and the cell stays parked, to be answered as aborted on the reconnect. Returns their msg_ids.
        /// </summary>
        public List<string> Interrupt(string kernelId, string user)
        {
            List<HeldCell> reached = [];
            lock (_lock)
            {
                foreach (var (key, cell) in _parked)
                {
                    if (key.KernelId == kernelId && key.User == user && cell.TryMarkInterrupted())
                    {
                        reached.Add(cell);
                    }
                }
            }

            // Outside the lock: cancelling the hold may run the broker call's continuation inline.
            List<string> msgIds = [];
            foreach (var cell in reached)
            {
                msgIds.Add(cell.Message.Summary.MsgId);
                cell.CancelHold();
            }

            return msgIds;
        }

        /// <summary>
        /// Takes the cell parked for this browser session, if any. With <paramref name="handoffExpected"/> (an older
        /// channel of the same session was just told to let go of its cell) waits up to <paramref name="timeout"/> for it.
        /// </summary>
        public async Task<HeldCell?> TakeAsync(HeldCellKey key, bool handoffExpected, TimeSpan timeout, CancellationToken cancellationToken)
        {
            TaskCompletionSource<HeldCell> waiter;
            lock (_lock)
            {
                if (_parked.Remove(key, out var parked))
                {
                    return parked;
                }

                if (!handoffExpected)
                {
                    return null;
                }

                waiter = new TaskCompletionSource<HeldCell>(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiting[key] = waiter;
            }

            try
            {
                return await waiter.Task.WaitAsync(timeout, timeProvider, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                lock (_lock)
                {
                    if (_waiting.TryGetValue(key, out var current) && current == waiter)
                    {
                        _waiting.Remove(key);
                    }
                }

                // Handed over just as the wait ended: keep it rather than lose it.
                return waiter.Task.IsCompletedSuccessfully ? waiter.Task.Result : null;
            }
        }

        private async Task ExpireAsync(HeldCellKey key, HeldCell cell)
        {
            await Task.Delay(grace, timeProvider);
            lock (_lock)
            {
                if (!_parked.TryGetValue(key, out var current) || current != cell)
                {
                    return;
                }

                _parked.Remove(key);
            }

            Log.HeldCellDropped(logger, key.KernelId, cell.Message.Summary.MsgId);
            cell.Abandon($"the browser did not reconnect within {grace.TotalSeconds:0.#} s");
        }
    }
}
