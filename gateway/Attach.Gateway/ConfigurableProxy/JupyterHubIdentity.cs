using System.Text.Json;
using Attach.Gateway.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Net.Http.Headers;

namespace Attach.Gateway.ConfigurableProxy;

/// <summary>
/// <c>POST {route}/.attach/identity</c> on a JupyterHub route whose data names a user: the gateway identity the badge
/// and the dashboard need (<c>/attach/api/v1/…</c>, <c>/hubs/attach</c>), delegated to the route's own server, the
/// trust model of <see cref="JupyterHubKernelChannel"/>. The gateway asks that server for <c>{route}/api/status</c>
/// (Jupyter Server answers it only to an authenticated caller) with the browser's own credentials, forwarded as the
/// channel's handshake forwards them; a Jupyter status answer (200, JSON with <c>started</c> and <c>kernels</c>) signs
/// the browser in with the gateway's session cookie as the route's user, never as an administrator. Anything else
/// gives no cookie: 403 (sign in through JupyterHub), or 503 when the server does not answer.
/// </summary>
/// <remarks>
/// The path cannot be a page or API of the server behind the route: Jupyter Server's and code-server's paths all
/// start with a word (<c>api/</c>, <c>tree/</c>, <c>lab/</c>, <c>static/</c>, <c>proxy/</c>, <c>stable-…/</c>), none with
/// a dot, and browsers keep a <c>.attach</c> segment as it is (only <c>.</c> and <c>..</c> are resolved).
/// The request must come from a page of the gateway's own origin (Origin, and Sec-Fetch-Site where the browser sends
/// it), as the login page's form must. The cookie's ticket lasts <see cref="Lifetime"/> and does not slide, so a
/// browser JupyterHub has signed out (or whose access to the server was taken away) loses the gateway identity too
/// within that time; the badge asks again when the gateway answers 401.
/// </remarks>
internal sealed class JupyterHubIdentity(IHttpClientFactory http, TimeProvider time, ILogger<JupyterHubIdentity> logger)
{
    /// <summary>Under the route's prefix.</summary>
    public const string Path = "/.attach/identity";

    public const string HttpClientName = "jupyterhub-identity";

    /// <summary>How long a delegated sign-in lasts before the route's server is asked again.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    public async Task RunAsync(HttpContext context, JupyterHubRoute route, string user)
    {
        var request = context.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = HttpMethods.Post;
            await Results.Problem("POST this address (the Attach badge does) to sign in to the gateway with JupyterHub's credentials.", statusCode: StatusCodes.Status405MethodNotAllowed).ExecuteAsync(context);
            return;
        }

        if (!IsSameOrigin(request))
        {
            Log.HubIdentityCrossOrigin(logger, route.Prefix);
            await Results.Problem("Cross-origin request refused: only a page of this site may ask for the gateway identity of its JupyterHub user.", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(context);
            return;
        }

        // The server's own address for it: the route's target path, the request's prefix as the browser wrote it.
        var prefix = route.Prefix == "/" ? "" : (request.Path.Value ?? "")[..route.Prefix.Length];
        using var status = new HttpRequestMessage(HttpMethod.Get, JupyterHubKernelChannel.UpstreamUri(route.Target, prefix + "/api/status", request.QueryString, webSocket: false));
        foreach (var (name, value) in JupyterHubKernelChannel.ForwardedHeaders(context))
        {
            status.Headers.TryAddWithoutValidation(name, value);
        }

        status.Headers.Accept.ParseAdd("application/json");
        int code;
        bool isJupyterStatus;
        try
        {
            using var response = await http.CreateClient(HttpClientName).SendAsync(status, context.RequestAborted);
            code = (int)response.StatusCode;
            isJupyterStatus = code == StatusCodes.Status200OK && await IsJupyterStatusAsync(response, context.RequestAborted);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            Log.HubRouteUnreachable(logger, route.Prefix, ex.Message);
            await Results.Problem($"The server behind {route.Prefix} did not answer; start it again from JupyterHub's home page, then reload this page.", statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
            return;
        }

        if (!isJupyterStatus)
        {
            Log.HubIdentityRefused(logger, route.Prefix, code);
            await Results.Problem($"The server behind {route.Prefix} did not accept this browser's credentials ({code}): sign in through JupyterHub, then reload this page.", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(context);
            return;
        }

        var expires = time.GetUtcNow() + Lifetime;
        await context.SignInAsync(
            GatewayAuthDefaults.CookieScheme,
            UserPrincipal.For(user, admin: false, GatewayAuthDefaults.CookieScheme),
            new AuthenticationProperties { IsPersistent = false, AllowRefresh = false, IssuedUtc = time.GetUtcNow(), ExpiresUtc = expires });
        Log.HubIdentityGiven(logger, route.Prefix, user, expires);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>A browser sends Origin with every POST; it must be this site's (as the session cookie's other unsafe requests), and Sec-Fetch-Site, where sent, must agree.</summary>
    internal static bool IsSameOrigin(HttpRequest request) =>
        request.Headers.Origin.ToString() is { Length: > 0 } origin
        && Uri.TryCreate(origin, UriKind.Absolute, out var originUri)
        && string.Equals(originUri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)
        && request.Headers["Sec-Fetch-Site"].ToString() is "" or "same-origin";

    /// <summary>Jupyter Server's <c>api/status</c>: a JSON object with <c>started</c> and <c>kernels</c> (not a page, not some other app's 200).</summary>
    private static async Task<bool> IsJupyterStatusAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentType?.MediaType != "application/json" || response.Content.Headers.ContentLength > 64 * 1024)
        {
            return false;
        }

        try
        {
            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("started", out _)
                && json.RootElement.TryGetProperty("kernels", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
