using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Attach.Contracts.Kernels;

namespace Attach.Agent.Shim;

/// <summary>
/// One shim client: hello, then lease requests and releases, until bye or the connection ends. Whatever the
/// connection holds is released when it ends, however it ends (bye, close, a killed process, a protocol error, the
/// agent stopping). The reader loop owns the protocol; a pending request runs beside it so that a release, a bye or
/// the process's death is seen while the request waits in the queue. Every failure ends this connection only.
/// </summary>
internal sealed partial class ShimConnection(
    Socket socket,
    PeerCredentials peer,
    ShimLeaseTable leases,
    ShimOptions options,
    string nodeId,
    TimeProvider timeProvider,
    ILogger logger) : IShimLeaseHolder, IDisposable
{
    /// <summary>More than any GPU has (1 PiB); a larger value is a client bug.</summary>
    private const long MaxMemoryMiB = 1L << 30;

    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly ShimFrameReader _reader = new(socket, timeProvider);
    private State _state = State.AwaitingHello;
    private string? _session;
    private string? _leaseId;
    private (string LeaseId, string Reason)? _revokedWhileRequesting;
    private Task _request = Task.CompletedTask;
    private CancellationTokenSource? _requestCancellation;
    private string? _closeReason;
    private bool _sealed; // guarded by _sendLock

    private enum State
    {
        AwaitingHello,
        Ready,
        Requesting,
        Holding,
    }

    public PeerCredentials Peer => peer;

    /// <summary>Serves the connection until it ends; never throws.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        using var stopping = stoppingToken.Register(static state => ((ShimConnection)state!).Abort("the agent is stopping"), this);
        ShimMessage? farewell = null;
        try
        {
            if (await ReceiveHelloAsync())
            {
                while (await _reader.ReadAsync(options.FrameTimeout, _closing.Token) is { } message)
                {
                    if (!await HandleAsync(message))
                    {
                        break;
                    }
                }
            }

            SetCloseReason("the process closed the connection");
        }
        catch (ShimProtocolException exception)
        {
            SetCloseReason($"protocol error {exception.Code}");
            logger.ShimProtocolViolation(peer.Pid, peer.Uid, exception.Code, exception.Message);
            farewell = ShimMessage.Error(exception.Code, exception.Message, fatal: true);
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            if (stoppingToken.IsCancellationRequested)
            {
                farewell = ShimMessage.Error(ShimErrorCodes.ShuttingDown, "The agent is stopping; the connection's lease is released.", fatal: true);
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Reset by the peer: a killed process. The same as a close.
            SetCloseReason("the connection was reset");
        }
        catch (Exception exception)
        {
            SetCloseReason("the agent failed");
            logger.ShimConnectionFailed(exception, peer.Pid);
            farewell = ShimMessage.Error(ShimErrorCodes.Internal, "The agent failed serving this connection; its log says why.", fatal: true);
        }

        // A pending request sends nothing more, so a fatal error is the last frame the client reads.
        await CancelRequestAsync();
        if (farewell is not null)
        {
            await SendAsync(farewell, last: true);
        }

        await LetGoAsync($"process {peer.Pid}: {_closeReason}");
        logger.ShimConnectionClosed(peer.Pid, _closeReason ?? "closed");
    }

    public async ValueTask OnRevokedAsync(string leaseId, string reason)
    {
        lock (_lock)
        {
            if (_state == State.Requesting)
            {
                // The grant is on its way to the request task, which sends the revoke after it.
                _revokedWhileRequesting = (leaseId, reason);
                return;
            }

            if (!string.Equals(_leaseId, leaseId, StringComparison.Ordinal))
            {
                return;
            }

            _leaseId = null;
            _state = State.Ready;
        }

        await SendAsync(ShimMessage.Revoke(leaseId, reason));
    }

    public void Dispose()
    {
        socket.Dispose();
        _requestCancellation?.Dispose();
        _closing.Dispose();
        _sendLock.Dispose();
    }

    /// <summary>The first frame: a hello in the version this agent speaks, with a well-formed session token.</summary>
    /// <returns>False when the peer closed the connection before saying anything.</returns>
    private async Task<bool> ReceiveHelloAsync()
    {
        using var timer = new CancellationTokenSource(options.HelloTimeout, timeProvider);
        using var helloToken = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, _closing.Token);
        ShimMessage? hello;
        try
        {
            hello = await _reader.ReadAsync(options.FrameTimeout, helloToken.Token);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !_closing.IsCancellationRequested)
        {
            throw new ShimProtocolException(ShimErrorCodes.Timeout,
                $"No hello within {options.HelloTimeout.TotalSeconds:0.###} s of connecting; a client's first message must be a hello.");
        }

        if (hello is null)
        {
            return false;
        }

        if (hello.Type != ShimMessageType.Hello)
        {
            throw new ShimProtocolException(ShimErrorCodes.HelloRequired, $"The first message must be a hello (0x01); it was 0x{(int)hello.Type:x2}.");
        }

        if (!int.TryParse(hello["version"], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            throw new ShimProtocolException(ShimErrorCodes.BadBody, $"A hello needs version=<integer>; this agent speaks version {ShimMessage.ProtocolVersion}.");
        }

        if (version != ShimMessage.ProtocolVersion)
        {
            throw new ShimProtocolException(ShimErrorCodes.UnsupportedVersion,
                $"This agent speaks shim protocol version {ShimMessage.ProtocolVersion}, not {version}; use a shim and an agent of the same release.");
        }

        var session = hello["session"];
        if (session is null || !SessionPattern().IsMatch(session))
        {
            throw new ShimProtocolException(ShimErrorCodes.BadSession,
                "A hello needs session=<token>: ATTACH_SESSION or the kernel id (letters, digits, '-', '_' or '.', at most 128).");
        }

        lock (_lock)
        {
            _session = session;
            _state = State.Ready;
        }

        // The pid a client writes is ignored: the kernel's SO_PEERCRED is the truth.
        logger.ShimHello(peer.Pid, peer.Uid, peer.Gid, session, hello["client"] ?? "unnamed client");
        return await SendAsync(ShimMessage.Welcome(nodeId, peer.Pid));
    }

    /// <returns>False when the connection is to end (bye, or a reply could not be sent).</returns>
    private async Task<bool> HandleAsync(ShimMessage message)
    {
        switch (message.Type)
        {
            case ShimMessageType.RequestLease:
                await StartRequestAsync(message);
                return true;
            case ShimMessageType.Release:
                var released = await LetGoAsync($"process {peer.Pid} released it");
                return await SendAsync(ShimMessage.Released(released));
            case ShimMessageType.Bye:
                SetCloseReason("the process said bye");
                return false;
            default:
                throw new ShimProtocolException(ShimErrorCodes.UnexpectedMessage,
                    $"A {message.Type} message (0x{(int)message.Type:x2}) is not allowed from a client after the hello.");
        }
    }

    private async Task StartRequestAsync(ShimMessage message)
    {
        long? memoryMiB = message["memory_mib"] switch
        {
            null => null,
            var text when long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is > 0 and <= MaxMemoryMiB => value,
            _ => throw new ShimProtocolException(ShimErrorCodes.BadBody, $"memory_mib must be a whole number of MiB between 1 and {MaxMemoryMiB}."),
        };
        var wait = message["wait"] switch
        {
            null or "1" => true,
            "0" => false,
            _ => throw new ShimProtocolException(ShimErrorCodes.BadBody, "wait must be 1 (queue until a slice is free) or 0 (fail at once)."),
        };
        var priority = message["priority"] switch
        {
            null or "interactive" => AttachPriority.Interactive,
            "batch" => AttachPriority.Batch,
            _ => throw new ShimProtocolException(ShimErrorCodes.BadBody, "priority must be interactive or batch."),
        };

        // The previous request may still be sending its refusal.
        await _request;
        CancellationTokenSource cancellation;
        lock (_lock)
        {
            if (_state != State.Ready)
            {
                throw new ShimProtocolException(ShimErrorCodes.UnexpectedMessage,
                    _state == State.Holding
                        ? "The connection holds a lease already; release it before asking again."
                        : "A lease request is pending already; wait for its answer or release it.");
            }

            _state = State.Requesting;
            _requestCancellation?.Dispose();
            cancellation = _requestCancellation = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        }

        _request = RequestAsync(new ShimLeaseRequest(_session!, peer, memoryMiB, wait, priority), cancellation.Token);
    }

    private async Task RequestAsync(ShimLeaseRequest request, CancellationToken cancellationToken)
    {
        try
        {
            var result = await leases.AcquireAsync(this, request, OnQueuedAsync, cancellationToken);
            if (!result.Granted)
            {
                lock (_lock)
                {
                    _state = State.Ready;
                }

                await SendAsync(ShimMessage.Error(result.ErrorCode, result.Error, fatal: false));
                return;
            }

            (string LeaseId, string Reason)? revoked;
            lock (_lock)
            {
                _leaseId = result.Binding.LeaseId;
                _state = State.Holding;
                revoked = _revokedWhileRequesting;
                _revokedWhileRequesting = null;
            }

            if (await SendAsync(ShimMessage.Granted(result.Binding, result.Attachment)) && revoked is { } revocation)
            {
                await OnRevokedAsync(revocation.LeaseId, revocation.Reason);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Released, closed or stopping: LetGoAsync takes it from here.
        }
        catch (Exception exception)
        {
            logger.ShimConnectionFailed(exception, peer.Pid);
            await SendAsync(ShimMessage.Error(ShimErrorCodes.Internal, "The agent failed serving the lease request; its log says why.", fatal: true), last: true);
            Abort("the agent failed serving a lease request");
        }
    }

    private async ValueTask OnQueuedAsync(ShimQueuePosition position, CancellationToken cancellationToken)
    {
        logger.ShimLeaseQueued(_session!, peer.Pid, position.Position);
        await SendAsync(ShimMessage.Queued(position));
    }

    /// <summary>Abandons a pending request and releases the lease, if any.</summary>
    /// <returns>The lease released, if there was one.</returns>
    private async Task<string?> LetGoAsync(string reason)
    {
        await CancelRequestAsync();
        string? leaseId;
        lock (_lock)
        {
            leaseId = _leaseId;
            _leaseId = null;
            _revokedWhileRequesting = null;
            if (_state != State.AwaitingHello)
            {
                _state = State.Ready;
            }
        }

        if (leaseId is not null)
        {
            await leases.ReleaseAsync(this, _session!, leaseId, reason);
        }

        return leaseId;
    }

    /// <summary>Abandons a pending request and waits until its task is done (it handles its own failures).</summary>
    private async Task CancelRequestAsync()
    {
        CancellationTokenSource? pending;
        lock (_lock)
        {
            pending = _state == State.Requesting ? _requestCancellation : null;
        }

        if (pending is not null)
        {
            await pending.CancelAsync();
        }

        // Once it is done no grant can race a release.
        await _request;
    }

    /// <summary>Sends one frame within the frame timeout; on failure the connection is closed.</summary>
    /// <param name="message">The frame.</param>
    /// <param name="last">A fatal error: nothing is sent after it.</param>
    /// <returns>False when the frame was not sent.</returns>
    private async Task<bool> SendAsync(ShimMessage message, bool last = false)
    {
        var frame = ShimFrame.Encode(message);
        try
        {
            using var timer = new CancellationTokenSource(options.FrameTimeout, timeProvider);
            await _sendLock.WaitAsync(timer.Token);
            try
            {
                if (_sealed)
                {
                    return false;
                }

                _sealed = last;
                var sent = 0;
                while (sent < frame.Length)
                {
                    sent += await socket.SendAsync(frame.AsMemory(sent), SocketFlags.None, timer.Token);
                }
            }
            finally
            {
                _sendLock.Release();
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            if (SetCloseReason("the process did not read the agent's replies"))
            {
                logger.ShimProtocolViolation(peer.Pid, peer.Uid, ShimErrorCodes.Timeout,
                    $"A {message.Type} reply was not taken within {options.FrameTimeout.TotalSeconds:0.###} s.");
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            SetCloseReason("the connection was lost");
        }

        Abort(reason: null);
        return false;
    }

    /// <returns>True when this call set the reason (the first one wins).</returns>
    private bool SetCloseReason(string reason)
    {
        lock (_lock)
        {
            if (_closeReason is not null)
            {
                return false;
            }

            _closeReason = reason;
            return true;
        }
    }

    /// <summary>Ends the connection: the reader loop stops and the connection releases what it holds.</summary>
    private void Abort(string? reason)
    {
        if (reason is not null)
        {
            SetCloseReason(reason);
        }

        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }
    }

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,128}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SessionPattern();
}
