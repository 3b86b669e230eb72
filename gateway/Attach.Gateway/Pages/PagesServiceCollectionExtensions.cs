using Attach.Gateway.Dashboard;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Attach.Gateway.Pages;

/// <summary>Registers the badge injection, the page assets and the pool dashboard.</summary>
internal static class PagesServiceCollectionExtensions
{
    /// <summary>
    /// Call before the reverse proxy's own transforms are added: YARP runs transform providers in registration
    /// order, and the badge must be in the page before the Jupyter token scrubber writes it out.
    /// </summary>
    public static WebApplicationBuilder AddAttachPages(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<PagesOptions>().BindConfiguration(PagesOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<StaticAssets>();
        services.AddSingleton<ITransformProvider, BadgeInjectionTransform>();
        builder.AddPoolDashboard();
        return builder;
    }

    /// <summary>Maps <c>/attach/static/</c> and the dashboard at <c>/attach/</c>.</summary>
    public static IEndpointRouteBuilder MapAttachPages(this IEndpointRouteBuilder app)
    {
        app.ServiceProvider.GetRequiredService<StaticAssets>().Map(app);
        app.MapPoolDashboard();
        return app;
    }
}
