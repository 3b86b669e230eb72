using Microsoft.AspNetCore.Http.Features;

namespace Attach.Gateway.Channels;

/// <summary>
/// Puts a <see cref="CoalescingStream"/> under the WebSocket of every kernel channel (a request to a path ending in
/// <c>/channels</c> that upgrades over HTTP/1.1), so the relay can send the kernel's messages that arrived together in
/// one write. It wraps the request's upgrade feature before the WebSocket middleware reads it; the relay finds the
/// stream again with <see cref="Of"/>. A channel over HTTP/2 (extended CONNECT) has no upgrade feature and is relayed
/// as before, a write per message.
/// </summary>
internal static class ClientWriteCoalescing
{
    /// <summary>Must run before <c>UseWebSockets</c>, which keeps the upgrade feature it finds.</summary>
    public static IApplicationBuilder UseClientWriteCoalescing(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            if (context.Request.Path.Value is { } path
                && path.EndsWith("/channels", StringComparison.Ordinal)
                && context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
            {
                context.Features.Set<IHttpUpgradeFeature>(new CoalescingUpgrade(upgrade));
            }

            return next(context);
        });

    /// <summary>The coalescing stream under this request's accepted WebSocket, if it has one.</summary>
    public static CoalescingStream? Of(HttpContext context) => (context.Features.Get<IHttpUpgradeFeature>() as CoalescingUpgrade)?.Stream;

    private sealed class CoalescingUpgrade(IHttpUpgradeFeature inner) : IHttpUpgradeFeature
    {
        public CoalescingStream? Stream { get; private set; }

        public bool IsUpgradableRequest => inner.IsUpgradableRequest;

        public async Task<Stream> UpgradeAsync() => Stream = new CoalescingStream(await inner.UpgradeAsync());
    }
}
