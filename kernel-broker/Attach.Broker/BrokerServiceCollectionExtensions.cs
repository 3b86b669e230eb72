using Attach.Broker.Detection;
using Attach.Broker.History;
using Attach.Broker.Hubs;
using Attach.Broker.Kernels;
using Attach.Broker.Persistence;
using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.ServiceDefaults.Security;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Attach.Broker;

/// <summary>Registers the broker's parts.</summary>
internal static class BrokerServiceCollectionExtensions
{
    public static WebApplicationBuilder AddBroker(this WebApplicationBuilder builder)
    {
        // The shipped rule set comes first, so appsettings, the environment and the command line can override it.
        ((IConfigurationBuilder)builder.Configuration).Sources.Insert(0, new JsonConfigurationSource
        {
            FileProvider = new PhysicalFileProvider(AppContext.BaseDirectory),
            Path = "detection-rules.json",
            Optional = false,
        });

        var services = builder.Services;
        services.AddOptions<BrokerOptions>().BindConfiguration(BrokerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DetectionOptions>().BindConfiguration(DetectionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<DetectionOptions>, DetectionOptionsValidator>();
        // A body that does not parse is the caller's mistake in every environment: 400, never 500.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = false);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<GpuWorkDetector>();
        services.AddHostedService<DetectorWarmUp>();
        services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<StoreOptions>>().Value is var store && store.Kind == StoreKind.Postgres
            ? store.Open(sp.GetRequiredService<IHostEnvironment>().ContentRootPath, sp.GetService<Leadership.PostgresLeaderLock>())
            : store.Open(sp.GetRequiredService<IHostEnvironment>().ContentRootPath));
        services.AddOptions<SchedulingOptions>().BindConfiguration(SchedulingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<SchedulingOptions>, SchedulingOptionsValidator>();
        services.AddSingleton(sp => new PoolScheduler(sp.GetRequiredService<IOptions<SchedulingOptions>>().Value.ToSettings(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<NodeRegistry>();
        services.AddSingleton<LeaseTable>();
        services.AddSingleton<IGpuBinder, GpuBinder>();
        services.AddSingleton<KernelRegistry>();
        services.AddSingleton<KernelEventPublisher>();
        services.AddSingleton<IKernelEventPublisher>(sp => sp.GetRequiredService<KernelEventPublisher>());
        services.AddHostedService(sp => sp.GetRequiredService<KernelEventPublisher>());
        services.AddHostedService<BrokerStateRestorer>();
        services.AddHostedService<DeadNodeReaper>();
        builder.AddPoolHistory();

        // One long-lived client for a singleton: pooled connections are recycled instead of handlers.
        services.AddHttpClient(AgentClient.HttpClientName)
            .UseSocketsHttpHandler((handler, _) => handler.PooledConnectionLifetime = TimeSpan.FromMinutes(2))
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .AddHttpMessageHandler<InternalKeyHandler>()
            .AddStandardResilienceHandler(o =>
            {
                o.AttemptTimeout.Timeout = TimeSpan.FromSeconds(5);
                o.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(20);
                o.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(10);
            });
        services.AddSingleton(sp => new AgentClient(sp.GetRequiredService<IHttpClientFactory>().CreateClient(AgentClient.HttpClientName)));

        services.AddSignalR();
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase);
        return builder;
    }
}
