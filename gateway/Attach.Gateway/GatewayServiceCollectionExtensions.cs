using Attach.Gateway.Broker;
using Attach.Gateway.Channels;
using Attach.Gateway.Channels.Protocol;
using Attach.Gateway.ConfigurableProxy;
using Attach.Gateway.Pages;
using Attach.Gateway.Proxy;
using Attach.Gateway.Security;
using Attach.Gateway.Users;
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
        // JupyterHub hands configurable-http-proxy its API token in this variable; the gateway reads the same one.
        var chpToken = builder.Configuration[ConfigurableProxyOptions.AuthTokenVariable];
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section)
            .PostConfigure(o => o.ConfigurableProxy.AuthToken ??= string.IsNullOrEmpty(chpToken) ? null : chpToken)
            .ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        var users = string.IsNullOrEmpty(options.UsersFile)
            ? UserDirectory.SingleUser(options)
            : UserDirectory.MultiUser(UsersFile.Load(options.UsersFile, options.Jwt.Enabled));
        services.AddSingleton(users);
        builder.AddInternalKeyClient();
        builder.AddGatewayAuthentication(options);

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<KernelMessageFactory>();
        services.AddOptions<KernelChannelOptions>().BindConfiguration(KernelChannelOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<KernelChannelRelay>();
        services.AddSingleton<BrokerClient>();
        services.AddSingleton<ExecutionRulesSource>();
        services.AddHostedService(sp => sp.GetRequiredService<ExecutionRulesSource>());
        services.AddSingleton<IExecutionBroker, ExecutionGate>();
        services.AddSingleton<ActivityReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<ActivityReporter>());
        services.AddHostedService<BrokerConnectionWarmer>();
        AddBrokerClient(services, BrokerClient.ExecutePipeline, b => b.AddTimeout(options.AttachTimeout + TimeSpan.FromSeconds(5)));
        AddBrokerClient(services, BrokerClient.ReportPipeline, b => b
            .AddTimeout(TimeSpan.FromSeconds(10))
            .AddRetry(new HttpRetryStrategyOptions { MaxRetryAttempts = 3, UseJitter = true, Delay = TimeSpan.FromMilliseconds(200) })
            .AddTimeout(TimeSpan.FromSeconds(2)));

        // Before the proxy's transforms: the badge goes into a page before the token scrubber writes it out.
        builder.AddAttachPages();
        services.AddReverseProxy()
            .AddAttachRoutes(options, users)
            .AddAttachTransforms();
        services.AddSingleton<KernelOwnership>();
        services.AddHttpClient(KernelOwnership.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<ProxyRouteTable>();
        services.AddSingleton<ConfigurableProxyApi>();
        services.AddHostedService(sp => sp.GetRequiredService<ConfigurableProxyApi>());
        services.AddSingleton<JupyterHubKernelChannel>();
        services.AddSingleton<JupyterHubIdentity>();
        services.AddHttpClient(JupyterHubIdentity.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false });
        services.AddSingleton<ProxyErrorPage>();
        services.AddHttpClient(ProxyErrorPage.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(10));
        services.AddProblemDetails();
        return builder;
    }

    private static void AddBrokerClient(IServiceCollection services, string name, Action<ResiliencePipelineBuilder<HttpResponseMessage>> pipeline)
    {
        var client = services.AddHttpClient(name, (sp, http) =>
            {
                http.BaseAddress = sp.GetRequiredService<IOptions<GatewayOptions>>().Value.BrokerUrl;
                // The resilience pipeline owns timeouts.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddHttpMessageHandler<InternalKeyHandler>();
        client.AddResilienceHandler(name, pipeline);

        // Innermost: a follower broker's refusal is sent on to the leader it names, not retried as transient.
        client.AddHttpMessageHandler<Attach.ServiceDefaults.Http.LeaderFollowingHandler>();
    }
}
