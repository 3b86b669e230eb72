namespace Attach.Broker.History;

/// <summary>Registers the pool's occupancy history.</summary>
internal static class PoolHistoryServiceCollectionExtensions
{
    public static WebApplicationBuilder AddPoolHistory(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<HistoryOptions>().BindConfiguration(HistoryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<PoolHistory>();
        builder.Services.AddSingleton<PoolSampler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PoolSampler>());
        return builder;
    }
}
