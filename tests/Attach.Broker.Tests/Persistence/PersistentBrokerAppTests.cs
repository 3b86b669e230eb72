using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Contracts.Kernels;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Persistence;

/// <summary>The whole broker host over a database another broker left behind, for each store.</summary>
public abstract class PersistentBrokerAppTests : IDisposable
{
    private readonly TestStore _db;

    private protected PersistentBrokerAppTests(TestStore db)
    {
        _db = db;
    }

    public void Dispose()
    {
        _db.Dispose();
        GC.SuppressFinalize(this);
    }

    [StoreFact]
    public async Task Startup_StoredBoundLease_IsLoadedAndItsKernelIsAttachedBeforeTheFirstRequest()
    {
        var lease = Lease("node-a", Gpu(0, 80), 20 * GiB, owner: "ada", kernelId: "kernel-1");
        var previous = _db.Open();
        previous.AddKernel("kernel-1", "ada");
        previous.AddLease(lease);

        await using var app = new App(_db.Settings);
        using var client = app.CreateClient();

        var leases = app.Services.GetRequiredService<LeaseTable>();
        Assert.Equal(lease.LeaseId, Assert.Single(leases.Snapshot()).LeaseId);
        var kernel = app.Services.GetRequiredService<KernelRegistry>().Find("kernel-1", "ada");
        Assert.Equal(KernelState.Attached, kernel!.Status.State);
        Assert.Null(app.Services.GetRequiredService<KernelRegistry>().GetOrAdd("kernel-1", "grace"));
    }

    private sealed class App(IReadOnlyList<(string Key, string Value)> store) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Attach:InternalKey", "test-internal-key-0123456789abcdefghijkl");
            foreach (var (key, value) in store)
            {
                builder.UseSetting(key, value);
            }

            builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        }
    }
}
