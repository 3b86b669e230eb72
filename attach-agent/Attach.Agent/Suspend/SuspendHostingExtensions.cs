using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Attach.Agent.Suspend;

/// <summary>Registration of suspend to host and resume.</summary>
internal static class SuspendHostingExtensions
{
    /// <summary>Options, both backends, the backend selection and the per-lease coordinator.</summary>
    public static IServiceCollection AddProcessSuspender(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<SuspendOptions>()
            .BindConfiguration(SuspendOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        services.TryAddSingleton<ICommandRunner, ProcessCommandRunner>();
        // The GPU backend replaces this with its per-process memory once it has one.
        services.TryAddSingleton<IProcessDeviceMemory, UnknownProcessDeviceMemory>();
        services.TryAddSingleton<CudaCheckpointClient>();
        services.TryAddSingleton<SimulatedProcessSuspender>();
        services.TryAddSingleton<SuspendBackendSelector>();
        services.TryAddSingleton(serviceProvider => serviceProvider.GetRequiredService<SuspendBackendSelector>().Select());
        services.TryAddSingleton<LeaseProcesses>();
        services.TryAddSingleton<BindingSuspender>();
        return services;
    }
}
