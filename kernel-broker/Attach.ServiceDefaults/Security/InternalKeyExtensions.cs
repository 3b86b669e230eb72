using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
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
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<InternalKeyOptions>()
            .BindConfiguration(InternalKeyOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddAuthentication(InternalKeyDefaults.Scheme)
            .AddScheme<AuthenticationSchemeOptions, InternalKeyAuthenticationHandler>(InternalKeyDefaults.Scheme, null);
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(InternalKeyDefaults.Scheme).RequireAuthenticatedUser().Build());
        return builder;
    }
}
