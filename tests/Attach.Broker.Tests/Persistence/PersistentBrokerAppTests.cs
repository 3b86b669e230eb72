using Attach.Broker.Kernels;
using Attach.Broker.Persistence;
using Attach.Broker.Pool;
using Attach.Contracts.Kernels;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Persistence;

/// <summary>The whole broker host over a SQLite file another broker left behind.</summary>
public sealed class PersistentBrokerAppTests : IDisposable
{
    private readonly TempDatabase _db = new();

    public void Dispose() => _db.Dispose();

    [Fact]
    public async Task Startup_StoredBoundLease_IsLoadedAndItsKernelIsAttachedBeforeTheFirstRequest()
    {
        var lease = Lease("node-a", Gpu(0, 80), 20 * GiB, owner: "ada", kernelId: "kernel-1");
        using (var previous = SqliteLeaseStore.Open(_db.Path))
        {
            previous.AddKernel("kernel-1", "ada");
            previous.AddLease(lease);
        }

        await using var app = new App(_db.Path);
        using var client = app.CreateClient();

        var leases = app.Services.GetRequiredService<LeaseTable>();
        Assert.Equal(lease.LeaseId, Assert.Single(leases.Snapshot()).LeaseId);
        var kernel = app.Services.GetRequiredService<KernelRegistry>().Find("kernel-1", "ada");
        Assert.Equal(KernelState.Attached, kernel!.Status.State);
        Assert.Null(app.Services.GetRequiredService<KernelRegistry>().GetOrAdd("kernel-1", "grace"));
    }

    private sealed class App(string path) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Attach:InternalKey", "test-internal-key-0123456789abcdefghijkl");
            builder.UseSetting("Broker:Store:Kind", "sqlite");
            builder.UseSetting("Broker:Store:Path", path);
            builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        }
    }
}
