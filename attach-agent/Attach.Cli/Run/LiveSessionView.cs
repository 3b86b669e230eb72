using Attach.Cli.Configuration;
using Attach.Contracts.Hubs;
using Attach.Contracts.Kernels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Attach.Cli.Run;

/// <summary>
/// Follows one session on the gateway's hub (<c>/hubs/attach</c>) and prints each transition to stderr,
/// as <c>attach: …</c> lines, so the command's own stdout stays clean.
/// </summary>
internal sealed class LiveSessionView : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    private readonly HubConnection _connection;
    private readonly TextWriter _error;
    private readonly string _session;
    private readonly TaskCompletionSource _detached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _attachedSeen;

    private LiveSessionView(HubConnection connection, TextWriter error, string session)
    {
        _connection = connection;
        _error = error;
        _session = session;
        _connection.On<KernelStateChanged>(AttachHubProtocol.KernelStateChanged, OnChanged);
    }

    /// <summary>Connects and subscribes; null (after one line saying why) when the hub cannot be reached.</summary>
    public static async Task<LiveSessionView?> StartAsync(GatewayLogin login, TextWriter error, string session, CancellationToken cancellationToken)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(login.Gateway, AttachHubProtocol.Path.TrimStart('/')), o => o.Headers["Authorization"] = $"token {login.Token}")
            .Build();
        var view = new LiveSessionView(connection, error, session);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await connection.StartAsync(timeout.Token);
            await connection.InvokeAsync<KernelStatus>(AttachHubProtocol.SubscribeKernel, session, timeout.Token);
            return view;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or HubException or InvalidOperationException)
        {
            await error.WriteLineAsync($"attach: live GPU state not shown: the hub at {login.Gateway} did not answer ({ex.Message}).");
            await view.DisposeAsync();
            return null;
        }
    }

    /// <summary>After the command exited: waits briefly for the release, so its line is not lost.</summary>
    public async Task WaitForReleaseAsync(TimeSpan timeout)
    {
        if (!_attachedSeen)
        {
            return;
        }

        try
        {
            await _detached.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            // The broker releases on its own time; the command's exit must not wait for it.
        }
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    private void OnChanged(KernelStateChanged change)
    {
        if (change.KernelId != _session)
        {
            return;
        }

        var line = change.To switch
        {
            KernelState.Attaching => "attaching a GPU…",
            KernelState.Attached when change.Status.Attachment is { } a =>
                $"GPU {a.GpuIndex} ({a.GpuName}), {CliConsole.MiB(a.SliceMemoryMiB)} slice attached on {a.NodeId}, waited {a.WaitSeconds:0.00} s",
            KernelState.Releasing => $"releasing the GPU ({change.Reason})",
            KernelState.Detached => "released",
            KernelState.Failed => $"failed: {change.Reason}",
            _ => $"{change.To} ({change.Reason})",
        };
        _error.WriteLine($"attach: session {_session}: {line}");
        if (change.To == KernelState.Attached)
        {
            _attachedSeen = true;
        }
        else if (change.To is KernelState.Detached or KernelState.Failed)
        {
            _detached.TrySetResult();
        }
    }
}
