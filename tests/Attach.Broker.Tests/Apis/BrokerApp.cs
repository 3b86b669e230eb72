using System.Net.Http.Headers;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Attach.Broker.Tests.Apis;

/// <summary>
/// The broker in memory, with a fake binder in place of the agents. Runs in Development by default, as
/// <c>make run</c> and the integration tests run it.
/// </summary>
internal sealed class BrokerApp(string environment = "Development") : WebApplicationFactory<Program>
{
    public const string InternalKey = "test-internal-key-0123456789abcdefghijkl";

    public FakeGpuBinder Binder { get; } = new();

    /// <summary>
    /// When true, the real binder, lease table and scheduler place slices on nodes registered by heartbeat, and an
    /// <see cref="AcceptingAgent"/> stands in for the agents; otherwise <see cref="Binder"/> replaces all of them.
    /// </summary>
    public bool RealScheduler { get; init; }

    /// <summary>Extra configuration for one test (key, value).</summary>
    public IReadOnlyList<(string Key, string Value)> Settings { get; init; } = [];

    /// <summary>A client that presents the internal key and, when <paramref name="user"/> is set, acts for that user (as the gateway does).</summary>
    public HttpClient CreateClient(string? user, string? key = InternalKey)
    {
        var client = CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (user is not null)
        {
            client.DefaultRequestHeaders.Add(AttachHeaders.User, user);
        }

        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(environment);
        builder.UseSetting("Attach:InternalKey", InternalKey);
        builder.UseSetting("Broker:IdleTimeout", "00:05:00");
        builder.UseSetting("Broker:Store:Kind", "memory");
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureTestServices(services =>
        {
            if (RealScheduler)
            {
                services.RemoveAll<AgentClient>();
                services.AddSingleton(new AgentClient(new HttpClient(new AcceptingAgent())));
                return;
            }

            services.RemoveAll<IGpuBinder>();
            services.AddSingleton<IGpuBinder>(Binder);
        });
    }
}
