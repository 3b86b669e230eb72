using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Shim;

/// <summary>
/// The unix socket in-process shims connect to (docs/shim-protocol.md). The socket is bound when the host starts,
/// so a path in use or not writable stops the agent with a clear reason; each accepted connection is then served on
/// its own, and nothing one client does reaches another.
/// </summary>
internal sealed class ShimSocketServer(
    ShimLeaseTable leases,
    IOptions<ShimOptions> shimOptions,
    IOptions<AgentOptions> agentOptions,
    TimeProvider timeProvider,
    ILogger<ShimSocketServer> logger) : BackgroundService
{
    /// <summary>Owner and group may connect (connecting needs write permission); nobody else.</summary>
    public const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    private const int Backlog = 512;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private Socket? _listener;
    private long _nextConnectionId;
    private int _active;

    /// <summary>Where the socket listens; null until the host has started it (or when it is disabled).</summary>
    public string? SocketPath { get; private set; }

    /// <summary>Connections being served now.</summary>
    public int ActiveConnections => Volatile.Read(ref _active);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = shimOptions.Value;
        if (!options.Enabled)
        {
            logger.ShimDisabled();
            return;
        }

        if (!OperatingSystem.IsLinux())
        {
            logger.ShimUnsupportedPlatform(RuntimeInformation.OSDescription);
            return;
        }

        var path = options.ResolvedSocketPath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await RemoveStaleSocketAsync(path, cancellationToken);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, SocketMode);
            listener.Listen(Backlog);
        }
        catch (SocketException exception)
        {
            listener.Dispose();
            throw new InvalidOperationException(
                $"The shim socket cannot listen at {path}: {exception.Message}. Check that the agent may write to {Path.GetDirectoryName(path)}, or set Agent:Shim:SocketPath.",
                exception);
        }

        _listener = listener;
        SocketPath = path;
        logger.ShimListening(path, "0660", options.MaxConnections);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        CloseListener();
        try
        {
            // Each connection sees the stopping token, tells its client and releases its lease.
            await Task.WhenAll(_connections.Values).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.ShimConnectionsAbandoned(ActiveConnections);
        }
    }

    public override void Dispose()
    {
        CloseListener();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener!;
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException exception)
            {
                // Out of file descriptors and the like: existing connections go on; try again shortly.
                logger.ShimAcceptFailed(exception.SocketErrorCode.ToString(), exception.Message);
                try
                {
                    await Task.Delay(AcceptRetryDelay, timeProvider, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            Serve(client, stoppingToken);
        }
    }

    private void Serve(Socket client, CancellationToken stoppingToken)
    {
        PeerCredentials peer;
        try
        {
            peer = PeerCredentials.Of(client);
        }
        catch (SocketException)
        {
            // Gone before it could be looked at.
            client.Dispose();
            return;
        }

        var options = shimOptions.Value;
        if (Interlocked.Increment(ref _active) > options.MaxConnections)
        {
            Interlocked.Decrement(ref _active);
            logger.ShimConnectionRejected(peer.Pid, peer.Uid, options.MaxConnections);
            Track(RejectAsync(client, options.FrameTimeout));
            return;
        }

        var connection = new ShimConnection(client, peer, leases, options, agentOptions.Value.NodeId, timeProvider, logger);
        Track(ServeAsync(connection, stoppingToken));
    }

    private void Track(Task task)
    {
        var id = Interlocked.Increment(ref _nextConnectionId);
        _connections[id] = task;
        _ = ForgetWhenDoneAsync(id, task);
    }

    private async Task ForgetWhenDoneAsync(long id, Task task)
    {
        try
        {
            await task;
        }
        finally
        {
            _connections.TryRemove(id, out _);
        }
    }

    private async Task ServeAsync(ShimConnection connection, CancellationToken stoppingToken)
    {
        try
        {
            // Off the accept loop before the first byte is awaited.
            await Task.Yield();
            await connection.RunAsync(stoppingToken);
        }
        finally
        {
            connection.Dispose();
            Interlocked.Decrement(ref _active);
        }
    }

    private async Task RejectAsync(Socket client, TimeSpan timeout)
    {
        using (client)
        {
            try
            {
                using var timer = new CancellationTokenSource(timeout, timeProvider);
                var frame = ShimFrame.Encode(ShimMessage.Error(ShimErrorCodes.Busy, "The agent serves as many shim connections as it may; try again shortly.", fatal: true));
                await client.SendAsync(frame, SocketFlags.None, timer.Token);
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException)
            {
                // It is being turned away anyway.
            }
        }
    }

    /// <summary>
    /// A socket file left by an earlier run is removed; one another process still listens on is not (two agents
    /// on one node is a mistake to report, not to paper over), nor is anything that is not a socket.
    /// </summary>
    private async Task RemoveStaleSocketAsync(string path, CancellationToken cancellationToken)
    {
        if (Directory.Exists(path))
        {
            throw new InvalidOperationException($"Agent:Shim:SocketPath {path} is a directory; point it at a file name, e.g. {Path.Combine(path, "agent.sock")}.");
        }

        if (!File.Exists(path))
        {
            return;
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = new CancellationTokenSource(ProbeTimeout, timeProvider);
        using var probeToken = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            await probe.ConnectAsync(new UnixDomainSocketEndPoint(path), probeToken.Token);
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // Connecting to a regular file is refused too: only an empty file can be a socket.
            if (new FileInfo(path).Length > 0)
            {
                throw new InvalidOperationException($"{path} exists and is not a socket; the agent will not delete it. Remove it, or set Agent:Shim:SocketPath.", exception);
            }

            File.Delete(path);
            logger.ShimStaleSocketRemoved(path);
            return;
        }
        catch (OperationCanceledException exception) when (timeout.IsCancellationRequested)
        {
            throw new InvalidOperationException($"Another process holds the shim socket {path} but does not accept connections; stop it, or set Agent:Shim:SocketPath.", exception);
        }

        throw new InvalidOperationException(
            $"Another process already serves the shim socket {path} (a second agent on this node?). Stop it, or give this agent another Agent:Shim:SocketPath.");
    }

    private void CloseListener()
    {
        var listener = Interlocked.Exchange(ref _listener, null);
        if (listener is null)
        {
            return;
        }

        listener.Dispose();
        if (SocketPath is { } path)
        {
            // .NET unlinks the socket file on dispose; make sure, so the next start finds no stale socket.
            File.Delete(path);
        }
    }
}
