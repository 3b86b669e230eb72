using Docker.DotNet;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Attach.Agent.Containers;

/// <summary>Registration of containers through the Docker engine.</summary>
internal static class ContainerHostingExtensions
{
    /// <summary>Options (<c>Agent:Containers</c>), the engine client, the runner and the orphan cleanup at start.</summary>
    public static IServiceCollection AddContainers(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<ContainerOptions>()
            .BindConfiguration(ContainerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        // Creating the client opens nothing: an absent engine shows up on the first call, as a 503 with a reason.
        // The service provider disposes the client with the host; the client disposes its configuration.
        services.TryAddSingleton<IDockerClient>(serviceProvider =>
            new DockerClientConfiguration(serviceProvider.GetRequiredService<IOptions<ContainerOptions>>().Value.DockerUri).CreateClient());
        services.TryAddSingleton<ContainerRunner>();
        services.AddHostedService<ContainerOrphanCleanup>();
        return services;
    }
}
