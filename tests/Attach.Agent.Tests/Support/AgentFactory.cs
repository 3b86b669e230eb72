using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Agent.Tests.Support;

/// <summary>
/// The agent in memory: simulated backend, a broker nobody listens on (heartbeats just fail), a fake clock.
/// </summary>
internal sealed class AgentFactory : WebApplicationFactory<Program>
{
    public const string InternalKey = "agent-tests-internal-key-0123456789abcdef";
    public const string NodeId = "node-test";

    private readonly Dictionary<string, string?> _settings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Attach:InternalKey"] = InternalKey,
        ["Agent:NodeId"] = NodeId,
        ["Agent:BrokerUrl"] = "http://127.0.0.1:1",
        ["Agent:AdvertisedUrl"] = "http://127.0.0.1:5200",
        ["Agent:Backend"] = "simulated",
        // Tests run in parallel (often as root): none may claim the node's shim socket. Shim tests give a temp path.
        ["Agent:Shim:Enabled"] = "false",
    };

    // Nor the node's ledger (/var/lib/attach/agent as root): each agent gets its own, unless a test passes one.
    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("attach-agent-state-").FullName;

    private readonly Action<IServiceCollection>? _configureServices;

    public AgentFactory(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        _settings["Agent:StateDirectory"] = _stateDirectory;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        _configureServices = configureServices;
    }

    /// <summary>The agent's clock (it starts at FakeTimeProvider's fixed epoch).</summary>
    public FakeTimeProvider Time { get; } = new();

    public HttpClient CreateAuthorizedClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", InternalKey);
        return client;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_stateDirectory, recursive: true);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Time);
            _configureServices?.Invoke(services);
        });
    }
}
