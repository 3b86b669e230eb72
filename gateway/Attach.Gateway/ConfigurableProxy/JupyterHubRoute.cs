namespace Attach.Gateway.ConfigurableProxy;

/// <summary>A route JupyterHub added: its prefix (configurable-http-proxy's clean form), its target, and the user its data names.</summary>
/// <param name="Prefix">The route's path, e.g. <c>/user/ada</c>.</param>
/// <param name="Target">Where the route goes (the user's single-user server, the hub).</param>
/// <param name="User">The JupyterHub user the route's data names, when it names one; null for the hub's own route.</param>
internal sealed record JupyterHubRoute(string Prefix, Uri Target, string? User);
