using Attach.Broker.Kernels;
using Prometheus;

namespace Attach.Broker.Metrics;

/// <summary>Registers the broker's Prometheus metrics and maps <c>/metrics</c>.</summary>
internal static class MetricsExtensions
{
    public const string Path = "/metrics";

    /// <summary>
    /// Decorates the <see cref="IKernelEventPublisher"/> <c>AddBroker</c> registered, so every transition is counted
    /// on its way to the hub. Call after <c>AddBroker</c>.
    /// </summary>
    public static WebApplicationBuilder AddBrokerMetrics(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddSingleton<BrokerMetrics>();
        services.AddSingleton<PoolGauges>();
        var publisher = services.LastOrDefault(d => d.ServiceType == typeof(IKernelEventPublisher))
            ?? throw new InvalidOperationException("AddBrokerMetrics decorates the kernel event publisher: call it after AddBroker.");
        services.Remove(publisher);
        services.AddSingleton<IKernelEventPublisher>(sp => new MeteredKernelEventPublisher(Resolve(publisher, sp), sp.GetRequiredService<BrokerMetrics>()));
        return builder;
    }

    /// <summary>
    /// <c>GET /metrics</c> in Prometheus's text format. Like every broker route it needs the internal key
    /// (<c>Authorization: Bearer …</c>); the pool gauges are read at each scrape.
    /// </summary>
    public static IEndpointConventionBuilder MapBrokerMetrics(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var metrics = services.GetRequiredService<BrokerMetrics>();
        // Resolved at the first scrape, not here: the pool's parts open the store, which startup does in its own time.
        // A broker that does not lead holds no pool state (Leadership/): it reports none, rather than build it.
        var leadership = services.GetService<Leadership.BrokerLeadership>();
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            if (leadership?.IsLeader != false)
            {
                services.GetRequiredService<PoolGauges>().Update();
            }
        });
        return endpoints.MapMetrics(Path, metrics.Registry).RequireAuthorization();
    }

    private static IKernelEventPublisher Resolve(ServiceDescriptor descriptor, IServiceProvider services) =>
        (IKernelEventPublisher)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.GetServiceOrCreateInstance(services, descriptor.ImplementationType!));
}
