using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Attach.Agent.Shim;

/// <summary>Registration of the shim socket.</summary>
internal static class ShimHostingExtensions
{
    /// <summary>Options (<c>Agent:Shim</c>), the broker client for shim leases, the lease table and the socket server.</summary>
    public static IServiceCollection AddShimSocket(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<ShimOptions>()
            .BindConfiguration(ShimOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<IShimLeaseBroker, BrokerShimLeaseClient>();
        services.AddSingleton<ShimLeaseTable>();
        services.AddSingleton<ShimSocketServer>();
        services.AddHostedService(serviceProvider => serviceProvider.GetRequiredService<ShimSocketServer>());
        return services;
    }
}
