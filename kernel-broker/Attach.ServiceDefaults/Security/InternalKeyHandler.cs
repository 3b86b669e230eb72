using System.Net.Http.Headers;
using Microsoft.Extensions.Options;

namespace Attach.ServiceDefaults.Security;

/// <summary>Adds the internal key to every request of an <see cref="HttpClient"/> that calls another Attach service.</summary>
public sealed class InternalKeyHandler(IOptions<InternalKeyOptions> options) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Value.InternalKey);
        return base.SendAsync(request, cancellationToken);
    }
}
