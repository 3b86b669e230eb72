using System.Threading.Channels;
using Attach.Contracts.Hubs;
using Attach.Contracts.Kernels;
using Microsoft.AspNetCore.SignalR.Client;

namespace Attach.Testing.Jupyter;

/// <summary>A SignalR client of the attach hub, through the gateway, that records every event it receives.</summary>
public sealed class HubClient : IAsyncDisposable
{
    private readonly HubConnection _connection;
    private readonly Channel<KernelStateChanged> _events = Channel.CreateUnbounded<KernelStateChanged>();

    private HubClient(HubConnection connection)
    {
        _connection = connection;
        _connection.On<KernelStateChanged>(AttachHubProtocol.KernelStateChanged, change => _events.Writer.TryWrite(change));
    }

    public static async Task<HubClient> ConnectAsync(Uri gateway, string token, CancellationToken cancellationToken)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(gateway, AttachHubProtocol.Path.TrimStart('/')), o => o.Headers["Authorization"] = $"token {token}")
            .Build();
        var client = new HubClient(connection);
        await connection.StartAsync(cancellationToken);
        return client;
    }

    public Task<KernelStatus> SubscribeAsync(string kernelId, CancellationToken cancellationToken) =>
        _connection.InvokeAsync<KernelStatus>(AttachHubProtocol.SubscribeKernel, kernelId, cancellationToken);

    /// <summary>Waits for the next event that enters <paramref name="state"/>, returning every event seen up to it.</summary>
    public async Task<IReadOnlyList<KernelStateChanged>> WaitForStateAsync(KernelState state, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var seen = new List<KernelStateChanged>();
        try
        {
            while (true)
            {
                var change = await _events.Reader.ReadAsync(cts.Token);
                seen.Add(change);
                if (change.To == state && change.From != state)
                {
                    return seen;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no transition to {state} within {timeout}; saw: {string.Join(", ", seen.Select(e => $"{e.From}->{e.To}"))}");
        }
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
