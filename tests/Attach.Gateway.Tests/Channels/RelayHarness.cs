using System.IO.Pipelines;
using System.Net.WebSockets;
using Attach.Contracts.Kernels;
using Attach.Gateway.Broker;
using Attach.Gateway.Channels;
using Attach.Gateway.Channels.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moq;

namespace Attach.Gateway.Tests.Channels;

/// <summary>Runs <see cref="KernelChannelRelay"/> in-process between two in-memory WebSocket pairs: a test client and a test kernel.</summary>
internal sealed class RelayHarness
{
    public RelayHarness(IExecutionBroker broker, long maxMessageBytes = 64 * 1024, KernelChannelOptions? channelOptions = null, ILogger<KernelChannelRelay>? logger = null)
    {
        var options = Options.Create(new GatewayOptions { MaxMessageBytes = maxMessageBytes, AttachTimeout = TimeSpan.FromMinutes(10) });
        var activity = new ActivityReporter(new BrokerClient(Mock.Of<IHttpClientFactory>()), NullLogger<ActivityReporter>.Instance);
        Relay = new KernelChannelRelay(
            options,
            broker,
            activity,
            new KernelMessageFactory(TimeProvider.System),
            Options.Create(channelOptions ?? new KernelChannelOptions()),
            TimeProvider.System,
            logger ?? NullLogger<KernelChannelRelay>.Instance);
    }

    public KernelChannelRelay Relay { get; }

    /// <summary>
    /// Starts one relayed connection; <paramref name="subprotocol"/> null is legacy. As in the gateway, the relay's client
    /// socket sits on a <see cref="CoalescingStream"/>, so every relay test also runs with the kernel's messages gathered.
    /// </summary>
    public RelayedConnection Connect(string? subprotocol, string? sessionId = null, CancellationToken aborted = default)
    {
        var (relayClient, testClient, relayClientStream, relayClientWrites) = CreatePair();
        var (relayUpstream, testKernel, testKernelStream, _) = CreatePair();
        var run = Task.Run(
            async () =>
            {
                // As ASP.NET Core does when the request ends: the sockets go, and a client-mode peer stops waiting for the connection to close.
                using (relayClient)
                using (relayUpstream)
                {
                    await Relay.RelayAsync(relayClient, relayUpstream, "k1", "u", subprotocol, sessionId, aborted, relayClientStream);
                }
            },
            CancellationToken.None);
        return new RelayedConnection(testClient, testKernel, run) { KernelStream = testKernelStream, RelayClientWrites = relayClientWrites };
    }

    /// <summary>
    /// Two WebSockets joined by two pipes: (server end, client end), the server end on a <see cref="CoalescingStream"/>
    /// over a stream that counts the writes reaching the pipe.
    /// </summary>
    private static (WebSocket Server, WebSocket Client, CoalescingStream ServerStream, DuplexStream ServerWrites) CreatePair()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var serverWrites = new DuplexStream(toServer.Reader.AsStream(), toClient.Writer.AsStream());
        var serverStream = new CoalescingStream(serverWrites);
        var server = WebSocket.CreateFromStream(serverStream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        var client = WebSocket.CreateFromStream(new DuplexStream(toClient.Reader.AsStream(), toServer.Writer.AsStream()), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        return (server, client, serverStream, serverWrites);
    }

    internal sealed class DuplexStream(Stream read, Stream write) : Stream
    {
        private int _writes;

        /// <summary>How many writes reached the pipe.</summary>
        public int Writes => Volatile.Read(ref _writes);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => write.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => write.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => read.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => read.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => read.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count)
        {
            Interlocked.Increment(ref _writes);
            write.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _writes);
            return write.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                read.Dispose();
                write.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>The test's two ends of one relayed connection, and the relay's task.</summary>
internal sealed record RelayedConnection(WebSocket Client, WebSocket Kernel, Task Relay)
{
    /// <summary>The stream under the test kernel's socket: <see cref="CoalescingStream.Defer"/> lets the test kernel send several messages in one write.</summary>
    public required CoalescingStream KernelStream { get; init; }

    /// <summary>Counts the relay's writes to the client's connection.</summary>
    internal required RelayHarness.DuplexStream RelayClientWrites { get; init; }

    public static async Task<(byte[] Data, WebSocketMessageType Type)> ReceiveAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return ([], WebSocketMessageType.Close);
            }

            stream.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (stream.ToArray(), result.MessageType);
            }
        }
    }
}

/// <summary>A broker that answers "no GPU needed" at once, or holds every call until cancelled.</summary>
internal sealed class FakeExecutionBroker(bool hold) : IExecutionBroker
{
    private readonly TaskCompletionSource<CancellationToken> _held = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the call's token when the first call is held.</summary>
    public Task<CancellationToken> Held => _held.Task;

    public async Task<ExecutionDecision> ExecuteAsync(string kernelId, string user, ExecutionRequest request, Func<ExecutionProgress, CancellationToken, ValueTask> onProgress, CancellationToken cancellationToken)
    {
        if (!hold)
        {
            return new ExecutionDecision(false, "none", null, false, null);
        }

        _held.TrySetResult(cancellationToken);
        await Task.Delay(Timeout.Infinite, cancellationToken);
        throw new InvalidOperationException("unreachable");
    }
}
