using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Unicode;
using Attach.Contracts.Kernels;
using Attach.Gateway.Channels;
using Attach.Gateway.Channels.Protocol;
using Microsoft.Extensions.Logging;

namespace Attach.Gateway.Tests.Channels.Fuzz;

/// <summary>
/// Feeds one <see cref="FuzzCase"/> through the real relay (<see cref="RelayHarness"/>) and checks the oracle:
/// the valid frames before the first invalid one reach the kernel byte for byte, in order, with their framing;
/// the first invalid frame closes the client with 1007 (malformed) or 1009 (oversize), logs why, and closes the
/// kernel side; nothing the gateway held is dropped; no exception escapes the relay.
/// </summary>
internal static class FuzzRunner
{
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The oracle for one frame, from the rules the relay applies in order: the size limit (MessageBuffer), the
    /// WebSocket layer's UTF-8 check on text frames, then <see cref="KernelMessageParser.TryParse"/>. Null: valid.
    /// </summary>
    public static WebSocketCloseStatus? ExpectedClose(FuzzFrame frame, KernelWireProtocol protocol)
    {
        if (frame.Data.Length > FuzzFrames.MaxMessageBytes)
        {
            return WebSocketCloseStatus.MessageTooBig;
        }

        if (frame.IsText && !Utf8.IsValid(frame.Data))
        {
            return WebSocketCloseStatus.InvalidPayloadData;
        }

        return KernelMessageParser.TryParse(frame.Data, frame.IsText, protocol, out _, out _) ? null : WebSocketCloseStatus.InvalidPayloadData;
    }

    /// <summary>Runs the case; returns how many frames were sent. Throws (an xunit assertion) when the oracle does not hold.</summary>
    public static int Run(FuzzCase fuzzCase, TimeSpan closeGrace) =>
        Task.Run(() => RunAsync(fuzzCase, closeGrace)).GetAwaiter().GetResult();

    public static async Task<int> RunAsync(FuzzCase fuzzCase, TimeSpan closeGrace)
    {
        using var timeout = new CancellationTokenSource(CaseTimeout);
        var ct = timeout.Token;
        var protocol = fuzzCase.Protocol == "v1" ? KernelWireProtocol.V1 : KernelWireProtocol.Legacy;
        var logger = new CapturingLogger();
        var harness = new RelayHarness(new FuzzBroker(), FuzzFrames.MaxMessageBytes, new KernelChannelOptions { CloseGrace = closeGrace }, logger);
        var connection = harness.Connect(protocol == KernelWireProtocol.V1 ? KernelWireProtocols.V1Subprotocol : null, sessionId: "s1");

        // Both far ends are read all along, as a browser and a kernel would: the relay must never block on them.
        var clientSide = DrainUntilCloseAsync(connection.Client, ct);
        var kernelSide = CollectUntilCloseAsync(connection.Kernel, ct);

        var expected = new List<FuzzFrame>();
        WebSocketCloseStatus? expectedClose = null;
        var sent = 0;
        Task? lastSend = null;
        foreach (var frame in fuzzCase.Frames)
        {
            var close = ExpectedClose(frame, protocol);
            if (frame.MustBeInvalid)
            {
                Assert.True(close is not null, $"the generator's invalid {frame} was accepted by the parser");
            }

            sent++;
            lastSend = connection.Client.SendAsync(new ArraySegment<byte>(frame.Data), frame.IsText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, ct);
            if (close is { } status)
            {
                expectedClose = status;
                break;
            }

            await lastSend;
            expected.Add(frame);
        }

        if (expectedClose is null)
        {
            await connection.Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", ct);
        }

        var received = await kernelSide;
        await connection.Kernel.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        var clientClose = await clientSide;
        await connection.Relay.WaitAsync(ct);
        if (lastSend is not null)
        {
            // After an oversize frame the relay stops reading mid-message; the rest of the send may never complete.
            await Task.WhenAny(lastSend, Task.Delay(50, CancellationToken.None)).ContinueWith(t => t.Exception, TaskScheduler.Default);
        }

        Assert.Equal(expected.Count, received.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].IsText, received[i].IsText);
            Assert.True(expected[i].Data.AsSpan().SequenceEqual(received[i].Data), $"frame {i} ({expected[i]}) changed on its way to the kernel");
        }

        Assert.DoesNotContain(logger.Events, e => e.Level >= LogLevel.Error);
        var rejections = logger.Events.Where(e => e.Id == 2003).ToArray();
        if (expectedClose is { } expectedStatus)
        {
            Assert.Equal(expectedStatus, clientClose);
            var rejection = Assert.Single(rejections);
            Assert.Contains(expectedStatus.ToString(), rejection.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(rejections);
            Assert.Equal(WebSocketCloseStatus.NormalClosure, clientClose);
        }

        Assert.DoesNotContain(logger.Events, e => e.Id is 2014 or 2304);
        return sent;
    }

    private static async Task<WebSocketCloseStatus?> DrainUntilCloseAsync(WebSocket socket, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, ct);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return result.CloseStatus;
                }
            }
        }
        catch (WebSocketException)
        {
            return socket.CloseStatus;
        }
    }

    private static async Task<List<(bool IsText, byte[] Data)>> CollectUntilCloseAsync(WebSocket socket, CancellationToken ct)
    {
        var frames = new List<(bool, byte[])>();
        while (true)
        {
            var (data, type) = await RelayedConnection.ReceiveAsync(socket, ct);
            if (type == WebSocketMessageType.Close)
            {
                return frames;
            }

            frames.Add((type == WebSocketMessageType.Text, data));
        }
    }

    /// <summary>Answers after a yield, so cells are really held; GPU cells report progress and attach.</summary>
    private sealed class FuzzBroker : IExecutionBroker
    {
        public async Task<ExecutionDecision> ExecuteAsync(string kernelId, string user, ExecutionRequest request, Func<ExecutionProgress, CancellationToken, ValueTask> onProgress, CancellationToken cancellationToken)
        {
            await Task.Yield();
            if (!request.Code.Contains("torch", StringComparison.Ordinal))
            {
                return new ExecutionDecision(false, "none", null, false, null);
            }

            await onProgress(new ExecutionProgress(ExecutionPhase.Queued, 1, 1, 1, "waiting for a GPU"), cancellationToken);
            await Task.Yield();
            return ScriptedExecutionBroker.Attached(0.01);
        }
    }

    private sealed class CapturingLogger : ILogger<KernelChannelRelay>
    {
        public ConcurrentQueue<(LogLevel Level, int Id, string Message)> Events { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Events.Enqueue((logLevel, eventId.Id, formatter(state, exception)));
    }
}
