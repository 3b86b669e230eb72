using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Attach.Cli.Configuration;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;

namespace Attach.Cli.Gateway;

/// <summary>
/// The broker's user API through the gateway (<c>/attach/api/v1</c>), with the gateway token. Every failure
/// becomes a <see cref="CliException"/> that says what to do next.
/// </summary>
internal sealed class GatewayClient : IDisposable
{
    private const string Api = "attach/api/v1/";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly GatewayLogin _login;

    public GatewayClient(GatewayLogin login, HttpMessageHandler? handler)
    {
        _login = login;
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = login.Gateway;
        _http.Timeout = Timeout;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", login.Token);
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("attach-cli/0.1");
    }

    public Task<KernelStatus[]> KernelsAsync(CancellationToken cancellationToken) =>
        SendAsync<KernelStatus[]>(HttpMethod.Get, Api + "kernels", null, null, cancellationToken);

    public Task<KernelStatus> KernelAsync(string kernelId, CancellationToken cancellationToken) =>
        SendAsync<KernelStatus>(HttpMethod.Get, Api + "kernels/" + Uri.EscapeDataString(kernelId), null, kernelId, cancellationToken);

    /// <summary>
    /// Makes a new session the user's before its process asks for a GPU, so the broker files the shim's
    /// request under this user (and the hub shows it to them) rather than under the process's uid.
    /// </summary>
    public Task<KernelStatus> RegisterSessionAsync(string session, CancellationToken cancellationToken) =>
        SendAsync<KernelStatus>(HttpMethod.Put, Api + "kernels/" + Uri.EscapeDataString(session), null, session, cancellationToken);

    public Task<KernelStatus> ReleaseAsync(string kernelId, CancellationToken cancellationToken) =>
        SendAsync<KernelStatus>(HttpMethod.Post, Api + "kernels/" + Uri.EscapeDataString(kernelId) + "/release",
            new RuntimeReleaseRequest(null, 0, "released with 'attach release'"), kernelId, cancellationToken);

    public Task<PoolView> PoolAsync(CancellationToken cancellationToken) =>
        SendAsync<PoolView>(HttpMethod.Get, Api + "pool", null, null, cancellationToken);

    public void Dispose() => _http.Dispose();

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, string? kernelId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: CliJson.Options);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw Unreachable(ex.Message, ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unreachable($"no answer within {Timeout.TotalSeconds:0} s", ex);
        }

        using (response)
        {
            switch (response.StatusCode)
            {
                case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                    throw new CliException(ExitCodes.NotLoggedIn,
                        $"The gateway at {_login.Gateway} refused the token (from {_login.Source}). Run 'attach login {_login.Gateway}' with the token the gateway's 'make run' printed.");
                case HttpStatusCode.NotFound when kernelId is not null:
                    throw new CliException(ExitCodes.NotFound,
                        $"No kernel {kernelId} of yours is known to the broker. 'attach status' lists your kernels.");
                case HttpStatusCode.NotFound:
                    throw new CliException(ExitCodes.GatewayError,
                        $"{_login.Gateway} has no {path}: it does not look like an attach gateway. Check the URL ('attach login <gateway-url>').");
                case HttpStatusCode.BadRequest when kernelId is not null:
                    throw new CliException(ExitCodes.Usage,
                        $"'{kernelId}' is not a kernel id: use the id 'attach status' shows (letters, digits, '-', '_' or '.').");
                case var status when !response.IsSuccessStatusCode:
                    var detail = await response.Content.ReadAsStringAsync(cancellationToken);
                    throw new CliException(ExitCodes.GatewayError,
                        $"The gateway answered {(int)status} {response.ReasonPhrase} to {method} /{path}{(detail.Length > 0 ? ": " + Shorten(detail) : "")}. Try again; if it repeats, the gateway's and broker's logs say why.");
            }

            try
            {
                return await response.Content.ReadFromJsonAsync<T>(CliJson.Options, cancellationToken)
                    ?? throw new JsonException("empty body");
            }
            catch (JsonException ex)
            {
                throw new CliException(ExitCodes.GatewayError,
                    $"The gateway's answer to /{path} is not what attach expects ({ex.Message}). Is {_login.Gateway} an attach gateway of a matching version?", ex);
            }
        }
    }

    private CliException Unreachable(string why, Exception inner) => new(ExitCodes.Unreachable,
        $"The gateway at {_login.Gateway} could not be reached ({why}). Is it running ('make run' starts it)? If the URL changed, run 'attach login <gateway-url>'.", inner);

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
