using Attach.Gateway.Broker;
using Attach.Gateway.Channels;
using Attach.Gateway.Channels.Protocol;
using Attach.Gateway.Proxy;
using Attach.Gateway.Security;
using Attach.ServiceDefaults.Security;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Attach.Gateway;

/// <summary>Registers the gateway's parts.</summary>
internal static class GatewayServiceCollectionExtensions
{
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        builder.AddInternalKeyClient();
        builder.AddGatewayAuthentication();

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<KernelMessageFactory>();
        services.AddOptions<KernelChannelOptions>().BindConfiguration(KernelChannelOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<KernelChannelRelay>();
        services.AddSingleton<BrokerClient>();
        services.AddSingleton<IExecutionBroker>(sp => sp.GetRequiredService<BrokerClient>());
        services.AddSingleton<ActivityReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<ActivityReporter>());
        services.AddHostedService<BrokerConnectionWarmer>();
        AddBrokerClient(services, BrokerClient.ExecutePipeline, b => b.AddTimeout(options.AttachTimeout + TimeSpan.FromSeconds(5)));
        AddBrokerClient(services, BrokerClient.ReportPipeline, b => b
            .AddTimeout(TimeSpan.FromSeconds(10))
            .AddRetry(new HttpRetryStrategyOptions { MaxRetryAttempts = 3, UseJitter = true, Delay = TimeSpan.FromMilliseconds(200) })
            .AddTimeout(TimeSpan.FromSeconds(2)));

        services.AddReverseProxy()
            .AddAttachRoutes(options)
            .AddAttachTransforms();
        services.AddProblemDetails();
        return builder;
    }

    private static void AddBrokerClient(IServiceCollection services, string name, Action<ResiliencePipelineBuilder<HttpResponseMessage>> pipeline)
    {
        services.AddHttpClient(name, (sp, http) =>
            {
                http.BaseAddress = sp.GetRequiredService<IOptions<GatewayOptions>>().Value.BrokerUrl;
                // The resilience pipeline owns timeouts.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddHttpMessageHandler<InternalKeyHandler>()
            .AddResilienceHandler(name, pipeline);
    }
}
