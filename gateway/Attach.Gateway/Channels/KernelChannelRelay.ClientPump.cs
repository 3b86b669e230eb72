using Attach.Contracts.Kernels;
using System.Net.WebSockets;
using System.Threading.Channels;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Channels;

/// <summary>
/// The client-to-kernel direction, in two parts: a reader that keeps receiving, validating and queueing the
/// client's messages (so a control-channel interrupt is seen while a cell is held), and a forwarder that
/// gates and sends them to the kernel strictly in order.
/// </summary>
internal sealed partial class KernelChannelRelay
{
    /// <summary>
    /// Messages read ahead of the forwarder. Bounded so a client that sends while a cell is held is slowed
    /// (the reader waits; nothing is dropped) rather than buffered without limit: at most this many messages
    /// of up to <see cref="GatewayOptions.MaxMessageBytes"/> each.
    /// </summary>
    internal const int ClientQueueCapacity = 16;

    private async Task PumpClientToKernelAsync(Connection connection, HeldCell? adopted, CancellationToken cancellationToken)
    {
        var queue = Channel.CreateBounded<ClientMessage>(new BoundedChannelOptions(ClientQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,

            // The forwarder runs on the reader's thread when it is waiting for the next message (the usual case): one
            // thread hop less per message. It only runs until its next await (a send, or a held cell's decision).
            AllowSynchronousContinuations = true,
        });
        var reader = ReadClientAsync(connection, queue.Writer, cancellationToken);
        try
        {
            await ForwardToKernelAsync(connection, adopted, queue.Reader, cancellationToken);
        }
        finally
        {
            // If the forwarder stopped early, stop the reader's writes and give back what it had queued, naming each.
            queue.Writer.TryComplete();
            _ = reader.ContinueWith(
                _ =>
                {
                    while (queue.Reader.TryRead(out var left))
                    {
                        Log.ClientMessageNotSent(logger, connection.KernelId, left.Summary.MsgType, left.Summary.MsgId);
                        left.Dispose();
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
        }

        await reader;
    }

    /// <summary>Receives client messages until the client closes or sends something the gateway must refuse.</summary>
    private async Task ReadClientAsync(Connection connection, ChannelWriter<ClientMessage> queue, CancellationToken cancellationToken)
    {
        using var buffer = new MessageBuffer(_options.MaxMessageBytes);
        try
        {
            while (true)
            {
                ReceiveOutcome outcome;
                bool waitedForNetwork;
                try
                {
                    // Completed at once: the message was already buffered (Kestrel's pipe), so the client sent it before now.
                    var receive = buffer.ReceiveAsync(connection.Client, cancellationToken);
                    waitedForNetwork = !receive.IsCompleted;
                    outcome = await receive;
                }
                catch (WebSocketException ex) when (ex.WebSocketErrorCode == WebSocketError.ConnectionClosedPrematurely)
                {
                    // The connection dropped without a close (network gone, laptop asleep): the browser will reconnect.
                    Log.ClientDropped(logger, connection.KernelId, connection.User);
                    return;
                }
                catch (WebSocketException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    // The WebSocket layer itself refused a frame (a text frame that is not UTF-8, a bad opcode)
                    // and has already sent the close; the kernel side still needs closing.
                    Log.ClientFrameRejected(logger, connection.KernelId, connection.User, WebSocketCloseStatus.InvalidPayloadData, ex.Message);
                    connection.EndClient(ClientEnd.Rejected);
                    return;
                }

                switch (outcome)
                {
                    case ReceiveOutcome.Closed:
                        connection.EndClient(new ClientEnd(connection.Client.CloseStatus ?? WebSocketCloseStatus.NormalClosure, connection.Client.CloseStatusDescription));
                        return;
                    case ReceiveOutcome.TooBig:
                        await RejectClientAsync(connection, WebSocketCloseStatus.MessageTooBig, $"message larger than {_options.MaxMessageBytes} bytes");
                        return;
                }

                var isText = outcome == ReceiveOutcome.Text;
                if (!KernelMessageParser.TryParse(buffer.Message, isText, connection.Protocol, out var summary, out var error))
                {
                    await RejectClientAsync(connection, WebSocketCloseStatus.InvalidPayloadData, error);
                    return;
                }

                var (owned, length) = buffer.DetachMessage();
                var message = new ClientMessage(owned, length, isText, summary, connection.NextSequence(waitedForNetwork, out var abortingEndedAfter));
                if (abortingEndedAfter is not null)
                {
                    Log.AbortingAfterErrorEnded(logger, connection.KernelId, abortingEndedAfter, summary.MsgId);
                }

                if (summary is { Channel: KernelChannelNames.Control, MsgType: "interrupt_request" }
                    && connection.Interrupt(message.Sequence) is { } heldMsgId)
                {
                    Log.HoldInterrupted(logger, connection.KernelId, heldMsgId);
                }

                try
                {
                    await queue.WriteAsync(message, cancellationToken);
                }
                catch
                {
                    message.Dispose();
                    throw;
                }
            }
        }
        catch (ChannelClosedException)
        {
            // The forwarder has stopped; it reports why.
        }
        finally
        {
            queue.TryComplete();

            // The connection dropped (no close from the client, nor from the gateway): a held cell waits for the
            // browser's reconnect. A client that closed properly still has everything it sent delivered.
            if (connection.ClientEnded is null)
            {
                connection.MarkClientGone();
            }
        }
    }

    /// <summary>
    /// Sends queued messages to the kernel in order, holding GPU cells, then passes the client's close on. A cell taken
    /// over from an earlier channel of this session comes first, then what was queued behind it there, then this
    /// channel's own messages. If the client leaves while a cell is held, what is queued behind it is parked with it.
    /// </summary>
    private async Task ForwardToKernelAsync(Connection connection, HeldCell? adopted, ChannelReader<ClientMessage> queue, CancellationToken cancellationToken)
    {
        var carried = new Queue<ClientMessage>();
        try
        {
            var goOn = adopted is null || await ForwardAdoptedAsync(connection, adopted, carried, cancellationToken);
            while (goOn && carried.TryDequeue(out var message))
            {
                goOn = await ForwardQueuedAsync(connection, message, cancellationToken);
            }

            while (goOn && await queue.WaitToReadAsync(cancellationToken))
            {
                while (goOn && queue.TryRead(out var message))
                {
                    goOn = await ForwardQueuedAsync(connection, message, cancellationToken);
                }
            }

            if (!goOn)
            {
                ParkLeaving(connection, carried, queue);
            }
        }
        finally
        {
            // The channel failed or was stopped with carried messages still unsent: name each.
            while (carried.TryDequeue(out var left))
            {
                Log.ClientMessageNotSent(logger, connection.KernelId, left.Summary.MsgType, left.Summary.MsgId);
                left.Dispose();
            }

            if (connection.Leaving is { } leaving)
            {
                connection.Leaving = null;
                Log.HeldCellDropped(logger, connection.KernelId, leaving.Message.Summary.MsgId);
                leaving.Abandon("the channel failed before the cell could be parked");
            }
        }

        var end = connection.ClientEnded ?? ClientEnd.Dropped;
        await CloseQuietlyAsync(connection.Upstream, end.Status, end.Description);
    }

    /// <summary>Forwards (or holds, or answers) one queued message; false when the client left while it was held and it was parked.</summary>
    private async Task<bool> ForwardQueuedAsync(Connection connection, ClientMessage message, CancellationToken cancellationToken)
    {
        var outcome = GateOutcome.Forward;
        try
        {
            outcome = await ForwardAsync(connection, message, cancellationToken);
        }
        finally
        {
            // A cell let go of for the reconnect owns its message now.
            if (outcome != GateOutcome.ClientGone)
            {
                message.Dispose();
            }
        }

        return outcome != GateOutcome.ClientGone;
    }

    private async Task<GateOutcome> ForwardAsync(Connection connection, ClientMessage message, CancellationToken cancellationToken)
    {
        if (message.IsExecuteRequest)
        {
            if (connection.IsInterrupted(message.Sequence))
            {
                await AnswerAbortedAsync(connection, message, cancellationToken);
                return GateOutcome.Interrupted;
            }

            if (connection.IsAbortedAfterError(message.Sequence, out var failedMsgId))
            {
                Log.QueuedCellAbortedAfterError(logger, connection.KernelId, message.Summary.MsgId, failedMsgId!);
                await SendAbortedAsync(connection, message, cancellationToken);
                return GateOutcome.Answered;
            }

            if (message.Summary.Code is { Length: > 0 } code
                && !broker.TryForwardAtOnce(connection.KernelId, connection.User, new ExecutionRequest(message.Summary.MsgId, code)))
            {
                var gate = await GateExecutionAsync(connection, message, code, cancellationToken);
                if (gate == GateOutcome.Answered && message.Summary.StopOnError)
                {
                    // As a kernel does after an error: the cells the client had sent behind this one are aborted, not run.
                    connection.AbortCellsReadBeforeNow(message.Summary.MsgId);
                }

                if (gate is GateOutcome.Answered or GateOutcome.ClientGone)
                {
                    return gate;
                }

                // An interrupt read while the broker answered still wins: the cell has not reached the kernel.
                if (gate == GateOutcome.Interrupted || connection.IsInterrupted(message.Sequence))
                {
                    await AnswerAbortedAsync(connection, message, cancellationToken);
                    return GateOutcome.Interrupted;
                }
            }
        }

        await connection.Upstream.SendAsync(message.Data, message.IsText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        return GateOutcome.Forward;
    }

    /// <summary>Answers a cell the kernel never saw as ipykernel answers one it drops: busy, execute_reply(aborted), idle.</summary>
    private async Task AnswerAbortedAsync(Connection connection, ClientMessage message, CancellationToken cancellationToken)
    {
        Log.CellAbortedByInterrupt(logger, connection.KernelId, message.Summary.MsgId);
        await SendAbortedAsync(connection, message, cancellationToken);
    }

    /// <summary>Busy, execute_reply(aborted), idle, parented to the cell: how a kernel answers a cell it aborts.</summary>
    private async Task SendAbortedAsync(Connection connection, ClientMessage message, CancellationToken cancellationToken)
    {
        var parent = message.Summary.HeaderJson;
        var protocol = connection.Protocol;
        await connection.SendToClientAsync(messages.Status(protocol, parent, "busy"), cancellationToken);
        await connection.SendToClientAsync(messages.ExecuteReplyAborted(protocol, parent), cancellationToken);
        await connection.SendToClientAsync(messages.Status(protocol, parent, "idle"), cancellationToken);
    }

    /// <summary>Closes the client at once with the code and reason; the forwarder still sends what was queued before, then closes the kernel side.</summary>
    private async Task RejectClientAsync(Connection connection, WebSocketCloseStatus status, string reason)
    {
        Log.ClientFrameRejected(logger, connection.KernelId, connection.User, status, reason);
        connection.EndClient(ClientEnd.Rejected);
        await connection.CloseClientAsync(status, reason);
    }

    /// <summary>What the gate did with a cell.</summary>
    private enum GateOutcome
    {
        /// <summary>Send it to the kernel.</summary>
        Forward,

        /// <summary>The gateway answered it (an error) and it must not be sent.</summary>
        Answered,

        /// <summary>An interrupt abandoned the hold; answer it as aborted.</summary>
        Interrupted,

        /// <summary>The client left while the cell was held; it is parked for the browser's reconnect.</summary>
        ClientGone,
    }

    /// <summary>How the client's side ended: the close to pass on to the kernel side.</summary>
    private sealed record ClientEnd(WebSocketCloseStatus Status, string? Description)
    {
        public static ClientEnd Rejected { get; } = new(WebSocketCloseStatus.NormalClosure, "client connection closed by the gateway");

        public static ClientEnd Dropped { get; } = new(WebSocketCloseStatus.EndpointUnavailable, "the client's connection dropped");
    }
}
