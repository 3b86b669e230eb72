using Attach.Broker.Persistence;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Leadership;

/// <summary>Registers leader election among brokers sharing a store.</summary>
internal static class LeadershipServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="LeaderElector"/>, to start before every other hosted service, and puts every hosted
    /// service of the broker registered so far behind the <see cref="LeaderGate"/>: call it after <c>AddBroker</c> and
    /// the other <c>Add…</c> calls. Hosted services of the framework are left alone.
    /// </summary>
    public static WebApplicationBuilder AddBrokerLeadership(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<LeadershipOptions>().BindConfiguration(LeadershipOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<BrokerLeadership>();
        services.AddSingleton<LeaderGate>();
        services.AddSingleton(sp => new PostgresLeaderLock(
            sp.GetRequiredService<IOptions<StoreOptions>>().Value.ConnectionString!,
            sp.GetRequiredService<BrokerLeadership>().BrokerId));

        var broker = typeof(LeaderElector).Assembly;
        for (var i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType != typeof(IHostedService) || descriptor.IsKeyedService)
            {
                continue;
            }

            var origin = descriptor.ImplementationType ?? descriptor.ImplementationInstance?.GetType() ?? descriptor.ImplementationFactory?.Method.DeclaringType;
            if (origin?.Assembly != broker)
            {
                continue;
            }

            services[i] = ServiceDescriptor.Singleton<IHostedService>(sp => new LeaderGatedService(
                sp.GetRequiredService<LeaderGate>(),
                () => Create(descriptor, sp),
                ownsInstance: descriptor.ImplementationType is not null));
        }

        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, LeaderElector>());
        return builder;
    }

    private static IHostedService Create(ServiceDescriptor descriptor, IServiceProvider services) =>
        (IHostedService)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));
}
