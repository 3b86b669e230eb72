using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Contracts.Http;
using Attach.Contracts.Kernels;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Persistence;

/// <summary>The whole broker host over a database another broker left behind, for each store.</summary>
public abstract class PersistentBrokerAppTests : IDisposable
{
    private const string InternalKey = "test-internal-key-0123456789abcdefghijkl";

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

    [StoreFact]
    public async Task SlicePreference_SetBeforeARestart_IsKeptByTheNextBroker()
    {
        await using (var first = new App(_db.Settings))
        {
            using var alice = Client(first, "alice");
            using var half = await alice.PutAsJsonAsync("/api/v1/kernels/kernel-a/slice-preference", new SlicePreference("half", null));
            using var sized = await alice.PutAsJsonAsync("/api/v1/kernels/kernel-b/slice-preference", new SlicePreference(null, 20480));
            using var cleared = await alice.PutAsJsonAsync("/api/v1/kernels/kernel-c/slice-preference", new SlicePreference("quarter", null));
            using var reset = await alice.PutAsJsonAsync("/api/v1/kernels/kernel-c/slice-preference", new SlicePreference(null, null));
            Assert.All([half, sized, cleared, reset], r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        }

        await using var second = new App(_db.Settings);
        using var client = second.CreateClient();
        var kernels = second.Services.GetRequiredService<KernelRegistry>();

        Assert.Equal(new SlicePreference("half", null), kernels.Find("kernel-a", "alice")!.Preference);
        Assert.Equal(new SlicePreference(null, 20480), kernels.Find("kernel-b", "alice")!.Preference);
        Assert.Null(kernels.Find("kernel-c", "alice")!.Preference);
    }

    [StoreFact]
    public async Task SlicePreference_OfAForgottenKernel_IsForgottenWithIt()
    {
        await using (var first = new App(_db.Settings))
        {
            using var alice = Client(first, "alice");
            (await alice.PutAsJsonAsync("/api/v1/kernels/kernel-a/slice-preference", new SlicePreference("half", null))).EnsureSuccessStatusCode();
            first.Services.GetRequiredService<KernelRegistry>().GetOrAdd("kernel-a", "alice");
            Assert.True(await first.Services.GetRequiredService<KernelRegistry>().RemoveAsync("kernel-a", "alice", CancellationToken.None));
        }

        await using var second = new App(_db.Settings);
        using var client = second.CreateClient();

        Assert.Null(second.Services.GetRequiredService<KernelRegistry>().Find("kernel-a", "alice"));
        Assert.Empty(_db.Query("SELECT kernel_id FROM kernels WHERE slice_profile IS NOT NULL", r => r.GetString(0)));
    }

    private static HttpClient Client(App app, string user)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", InternalKey);
        client.DefaultRequestHeaders.Add(AttachHeaders.User, user);
        return client;
    }

    private sealed class App(IReadOnlyList<(string Key, string Value)> store) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Attach:InternalKey", InternalKey);
            foreach (var (key, value) in store)
            {
                builder.UseSetting(key, value);
            }

            builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        }
    }
}
