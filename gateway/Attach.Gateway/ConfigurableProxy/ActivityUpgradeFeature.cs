using Microsoft.AspNetCore.Http.Features;

namespace Attach.Gateway.ConfigurableProxy;

/// <summary>The HTTP/1.1 upgrade of a request on a JupyterHub route, handing the proxy an <see cref="ActivityStream"/>.</summary>
internal sealed class ActivityUpgradeFeature(IHttpUpgradeFeature inner, Action onActivity) : IHttpUpgradeFeature
{
    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    public async Task<Stream> UpgradeAsync() => new ActivityStream(await inner.UpgradeAsync(), onActivity);
}
