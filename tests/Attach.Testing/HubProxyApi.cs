using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Attach.Testing.Processes;

namespace Attach.Testing;

/// <summary>
/// The gateway's configurable-http-proxy API as JupyterHub drives it: a port and a <c>CONFIGPROXY_AUTH_TOKEN</c> (give
/// <see cref="GatewayEnvironment"/> to an <see cref="EmbeddedDeployment"/>), and jupyterhub/proxy.py's add_route.
/// </summary>
public sealed class HubProxyApi
{
    public int Port { get; } = FreePort.Next();

    public string Token { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();

    /// <summary>What turns the API on in the gateway's process.</summary>
    public Dictionary<string, string> GatewayEnvironment => new()
    {
        ["Gateway__ConfigurableProxy__Port"] = Port.ToString(CultureInfo.InvariantCulture),
        ["CONFIGPROXY_AUTH_TOKEN"] = Token,
    };

    /// <summary>proxy.py's add_route: <c>POST api/routes{routespec without its trailing slash}</c>, the route's data plus target and jupyterhub: true. Throws unless the gateway answers 201.</summary>
    public async Task AddRouteAsync(string routespec, Uri target, IReadOnlyDictionary<string, object> data)
    {
        var body = new Dictionary<string, object>(data) { ["target"] = target.ToString(), ["jupyterhub"] = true };
        using var api = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{Port}/api/routes{routespec.TrimEnd('/')}")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", $"token {Token}");
        using var response = await api.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"the gateway's configurable-http-proxy API refused route {routespec}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }
}
