using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace Attach.ServiceDefaults.Security;

/// <summary>Registration of internal-key authentication.</summary>
public static class InternalKeyExtensions
{
    /// <summary>
    /// Every endpoint of the service requires the internal key (fallback policy): the broker and the
    /// agents are reached only through the gateway or by each other.
    /// </summary>
    public static WebApplicationBuilder AddInternalKeyAuthentication(this WebApplicationBuilder builder)
    {
        builder.AddInternalKeyClient();
        // Nothing of these services is protected with Data Protection (no cookies): keep its keys in memory.
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        builder.Services.AddAuthentication(InternalKeyDefaults.Scheme)
            .AddScheme<AuthenticationSchemeOptions, InternalKeyAuthenticationHandler>(InternalKeyDefaults.Scheme, null);
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(InternalKeyDefaults.Scheme).RequireAuthenticatedUser().Build());
        return builder;
    }

    /// <summary>
    /// For services that call others with the internal key (the gateway, the agent): binds and validates
    /// the key and registers <see cref="InternalKeyHandler"/> (and <see cref="Http.LeaderFollowingHandler"/>, for
    /// clients of the broker) for their HTTP clients.
    /// </summary>
    public static WebApplicationBuilder AddInternalKeyClient(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<InternalKeyOptions>()
            .BindConfiguration(InternalKeyOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddTransient<InternalKeyHandler>();
        builder.Services.AddTransient<Http.LeaderFollowingHandler>();
        return builder;
    }
}
