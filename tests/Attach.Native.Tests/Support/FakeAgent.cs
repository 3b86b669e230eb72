using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;

namespace Attach.Native.Tests.Support;

/// <summary>
/// Just enough of the agent's shim socket (docs/shim-protocol.md) to drive libattach.so from real processes:
/// hello → welcome, request_lease → queued… then granted with env.* fields (or an error, or nothing), and a record
/// of every connection — who (SO_PEERCRED), what it asked, and when it closed. The real ShimSocketServer is
/// internal to Attach.Agent (visible to Attach.Agent.Tests only), and its own tests already cover it against a
/// reference client; these tests are about the C client.
/// </summary>
internal sealed class FakeAgent : IAsyncDisposable
{
    public const string GpuUuid = "GPU-00000000-0000-0000-0000-fake00000003";
    public const string SmLimit = "25";

    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    private readonly Socket _listener;
    private readonly FakeAgentBehavior _behavior;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly List<FakeAgentConnection> _connections = [];
    private readonly List<Task> _serving = [];
    private readonly Task _accepting;
    private int _leases;

    private FakeAgent(DirectoryInfo directory, FakeAgentBehavior behavior)
    {
        Directory = directory;
        _behavior = behavior;
        SocketPath = Path.Combine(directory.FullName, "agent.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(128);
        _accepting = AcceptAsync();
    }

    /// <summary>A short temporary folder (socket paths hold 107 bytes) with the socket and the test's records.</summary>
    public DirectoryInfo Directory { get; }

    public string SocketPath { get; }

    /// <summary>Every connection so far, in the order they were accepted.</summary>
    public IReadOnlyList<FakeAgentConnection> Connections
    {
        get
        {
            lock (_lock)
            {
                return [.. _connections];
            }
        }
    }

    /// <summary>The lease requests of all connections together.</summary>
    public int Requests => Connections.Sum(connection => connection.Requests);

    public static FakeAgent Start(FakeAgentBehavior? behavior = null) =>
        new(System.IO.Directory.CreateTempSubdirectory("ans"), behavior ?? new FakeAgentBehavior());

    /// <summary>Waits until every connection so far has ended.</summary>
    public Task AllClosedAsync() =>
        Task.WhenAll(Connections.Select(connection => connection.Closed)).WaitAsync(ShimProcess.Patience);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        Task[] serving;
        lock (_lock)
        {
            serving = [.. _serving, _accepting];
        }

        try
        {
            await Task.WhenAll(serving).WaitAsync(ShimProcess.Patience);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        _stopping.Dispose();
        Directory.Delete(recursive: true);
    }

    private static int PeerPid(Socket socket)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        Span<byte> credentials = stackalloc byte[12];
        socket.GetRawSocketOption(SolSocket, SoPeerCred, credentials);
        return BinaryPrimitives.ReadInt32LittleEndian(credentials);
    }

    private static async Task<(byte Type, Dictionary<string, string> Fields)?> ReadAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var header = new byte[ShimWire.HeaderLength];
        try
        {
            await stream.ReadExactlyAsync(header, cancellationToken);
            var length = BinaryPrimitives.ReadUInt32BigEndian(header);
            if (length > ShimWire.MaxBodyLength)
            {
                throw new InvalidDataException($"the shim sent a {length}-byte body");
            }

            var body = new byte[length];
            await stream.ReadExactlyAsync(body, cancellationToken);
            return (header[4], ShimWire.Decode(body));
        }
        catch (Exception exception) when (exception is EndOfStreamException or IOException or SocketException)
        {
            return null;
        }
    }

    private static Task SendAsync(NetworkStream stream, byte type, CancellationToken cancellationToken, params (string Key, string Value)[] fields) =>
        stream.WriteAsync(ShimWire.Encode(type, fields.Select(field => KeyValuePair.Create(field.Key, field.Value))), cancellationToken).AsTask();

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var connection = new FakeAgentConnection(PeerPid(client));
            lock (_lock)
            {
                _connections.Add(connection);
                _serving.Add(ServeAsync(client, connection));
            }
        }
    }

    private async Task ServeAsync(Socket socket, FakeAgentConnection connection)
    {
        await Task.Yield();
        var token = _stopping.Token;
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            while (await ReadAsync(stream, token) is var (type, fields))
            {
                switch (type)
                {
                    case ShimWire.Hello:
                        connection.Hello = fields;
                        if (_behavior.AnswerHello)
                        {
                            await SendAsync(stream, ShimWire.Welcome, token, ("version", "1"), ("node", "node-fake"), ("pid", connection.PeerPid.ToString(CultureInfo.InvariantCulture)), ("max_body", "65536"));
                        }

                        break;
                    case ShimWire.RequestLease:
                        connection.CountRequest();
                        connection.Request = fields;
                        await AnswerRequestAsync(stream, connection, fields, token);
                        break;
                    case ShimWire.Release:
                        await SendAsync(stream, ShimWire.Released, token);
                        break;
                    case ShimWire.Bye:
                        return;
                    default:
                        throw new InvalidDataException($"the shim sent message type 0x{type:x2}");
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or SocketException)
        {
            // The test is over, or the process went away mid-reply.
        }
        finally
        {
            connection.MarkClosed();
        }
    }

    private async Task AnswerRequestAsync(NetworkStream stream, FakeAgentConnection connection, Dictionary<string, string> request, CancellationToken token)
    {
        foreach (var position in _behavior.QueuePositions)
        {
            await SendAsync(stream, ShimWire.Queued, token, ("position", position.ToString(CultureInfo.InvariantCulture)), ("eta_seconds", (position * 20).ToString(CultureInfo.InvariantCulture)));
        }

        if (_behavior.RefusalCode is { } code)
        {
            await SendAsync(stream, ShimWire.Error, token, ("code", code), ("message", _behavior.RefusalMessage), ("fatal", "0"));
            return;
        }

        if (!_behavior.Grant)
        {
            return;
        }

        var memory = request.GetValueOrDefault("memory_mib", "20480");
        var leaseId = "lease-" + Interlocked.Increment(ref _leases).ToString(CultureInfo.InvariantCulture);
        connection.LeaseId = leaseId;
        await SendAsync(
            stream,
            ShimWire.Granted,
            token,
            ("lease_id", leaseId),
            ("gpu_index", "3"),
            ("gpu_uuid", GpuUuid),
            ("gpu_name", "A100 80GB (simulated)"),
            ("simulated", "1"),
            ("memory_mib", memory),
            ("compute_percent", SmLimit),
            ("waited_ms", "1200"),
            ("env.CUDA_VISIBLE_DEVICES", GpuUuid),
            ("env.ATTACH_LEASE_ID", leaseId),
            ("env.CUDA_DEVICE_MEMORY_LIMIT", memory + "m"),
            ("env.CUDA_DEVICE_SM_LIMIT", SmLimit));
        connection.MarkGranted();
        if (_behavior.RevokeReason is { } reason)
        {
            await SendAsync(stream, ShimWire.Revoke, token, ("lease_id", leaseId), ("reason", reason));
        }
    }
}
