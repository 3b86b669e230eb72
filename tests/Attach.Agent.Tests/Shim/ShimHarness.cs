using Attach.Agent.Gpu;
using Attach.Agent.Shim;
using Attach.Agent.Slices;
using Attach.Agent.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Agent.Tests.Shim;

/// <summary>
/// A started shim socket server on a real unix socket in a short temp directory (socket paths hold 107 bytes),
/// with the real ledger and lease table, a fake broker, and a clock that only moves when a test moves it.
/// </summary>
internal sealed class ShimHarness : IAsyncDisposable
{
    public const string NodeId = "node-shim";
    public const int GpuCount = 4;

    private ShimHarness(ShimOptions options, TimeProvider time)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("ash");
        options.SocketPath ??= Path.Combine(Directory.FullName, "run", "agent.sock");
        Options = options;
        Time = time;
        var agent = new AgentOptions
        {
            NodeId = NodeId,
            BrokerUrl = new Uri("http://broker.test:5100"),
            AdvertisedUrl = new Uri("http://node.test:5200"),
            Simulated = new SimulatedGpuOptions { GpuCount = GpuCount },
        };
        var inventory = new SimulatedGpuInventory(NodeId, agent.Simulated, "tests");
        Ledger = new SliceLedger(inventory, time, NullLogger<SliceLedger>.Instance);
        Broker = new FakeShimLeaseBroker(Ledger, NodeId, GpuCount);
        Leases = new ShimLeaseTable(Broker, Ledger, Microsoft.Extensions.Options.Options.Create(agent), LeaseLog);
        Server = new ShimSocketServer(Leases, Microsoft.Extensions.Options.Options.Create(options), Microsoft.Extensions.Options.Options.Create(agent), time, ServerLog);
    }

    public DirectoryInfo Directory { get; }

    public ShimOptions Options { get; }

    public TimeProvider Time { get; }

    public SliceLedger Ledger { get; }

    public FakeShimLeaseBroker Broker { get; }

    public ShimLeaseTable Leases { get; }

    public ShimSocketServer Server { get; }

    public RecordingLogger<ShimSocketServer> ServerLog { get; } = new();

    public RecordingLogger<ShimLeaseTable> LeaseLog { get; } = new();

    public string SocketPath => Options.ResolvedSocketPath;

    public static async Task<ShimHarness> StartAsync(ShimOptions? options = null, TimeProvider? time = null)
    {
        var harness = new ShimHarness(options ?? new ShimOptions(), time ?? new FakeTimeProvider());
        try
        {
            await harness.Server.StartAsync(CancellationToken.None);
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    public Task<ShimTestClient> ConnectAsync() => ShimTestClient.ConnectAsync(SocketPath);

    public Task<ShimTestClient> HelloAsync(string session = "session-1") => ShimTestClient.HelloAsync(SocketPath, session);

    /// <summary>Waits until the server serves no connection (each closed connection has released what it held).</summary>
    public async Task WaitForNoConnectionsAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (Server.ActiveConnections > 0)
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Server.StopAsync(timeout.Token);
        Server.Dispose();
        Directory.Delete(recursive: true);
    }
}
