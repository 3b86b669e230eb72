using Attach.Agent.Apis;
using Attach.Agent.Broker;
using Attach.Agent.Containers;
using Attach.Agent.Gpu;
using Attach.Agent.Shim;
using Attach.Agent.Slices;
using Attach.Agent.Suspend;
using Attach.ServiceDefaults.Security;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Attach.Agent;

/// <summary>Registration of the agent's services.</summary>
internal static class AgentHostingExtensions
{
    /// <summary>Options, GPU backend, slice ledger, problem details and the heartbeat to the broker.</summary>
    public static WebApplicationBuilder AddAgent(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<AgentOptions>()
            .BindConfiguration(AgentOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        services.AddProblemDetails(options => options.CustomizeProblemDetails = BadRequestDetails.Complete);
        // A body that does not parse is the caller's mistake in every environment: answer 400 (with a problem
        // body, through status-code pages) instead of throwing, which Development does by default.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = false);

        // The backend is chosen once, when the host starts (the heartbeat service needs the inventory): an NVIDIA
        // node whose GPUs nvidia-smi cannot read fails to start there. Readings then refresh in the background.
        services.TryAddSingleton<INvidiaDeviceProbe, NvidiaDeviceProbe>();
        services.TryAddSingleton<INvidiaSmi, NvidiaSmiProcess>();
        services.AddSingleton<GpuReadingMonitor>();
        services.AddHostedService(serviceProvider => serviceProvider.GetRequiredService<GpuReadingMonitor>());
        services.AddSingleton<GpuBackendSelector>();
        services.AddSingleton(serviceProvider => serviceProvider.GetRequiredService<GpuBackendSelector>().Select());
        // The ledger loads its file when first resolved (the heartbeat service needs it): a corrupt one stops the start.
        services.TryAddSingleton<ILedgerStore>(serviceProvider => new LedgerFile(
            serviceProvider.GetRequiredService<IOptions<AgentOptions>>().Value.StateDirectory,
            serviceProvider.GetRequiredService<TimeProvider>(),
            serviceProvider.GetRequiredService<ILogger<LedgerFile>>()));
        services.AddSingleton<SliceLedger>();
        // On real GPUs nvidia-smi says how much device memory a process holds (what a suspend moves).
        services.AddSingleton<IProcessDeviceMemory>(sp => sp.GetRequiredService<IGpuInventory>().Backend.Simulated
            ? new UnknownProcessDeviceMemory()
            : new NvidiaSmiProcessDeviceMemory(sp.GetRequiredService<INvidiaSmi>()));
        services.AddProcessSuspender();

        services.TryAddTransient<InternalKeyHandler>();
        services.TryAddTransient<Attach.ServiceDefaults.Http.LeaderFollowingHandler>();
        var broker = services.AddHttpClient<BrokerClient>((serviceProvider, http) =>
                http.BaseAddress = BaseUrl.WithTrailingSlash(serviceProvider.GetRequiredService<IOptions<AgentOptions>>().Value.BrokerUrl))
            // The heartbeat service holds its client for the process's life: let connections, not handlers, rotate.
            .UseSocketsHttpHandler((handler, _) => handler.PooledConnectionLifetime = TimeSpan.FromMinutes(2))
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .AddHttpMessageHandler<InternalKeyHandler>();
        broker.AddResilienceHandler(BrokerResilience.PipelineName, BrokerResilience.Configure);

        // Innermost: a follower broker's refusal is sent on to the leader it names, not retried as transient.
        broker.AddHttpMessageHandler<Attach.ServiceDefaults.Http.LeaderFollowingHandler>();
        services.AddHostedService<BrokerHeartbeatService>();
        services.AddShimSocket();
        services.AddContainers();
        return builder;
    }
}
