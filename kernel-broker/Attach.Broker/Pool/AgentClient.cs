using System.Net;
using System.Net.Http.Json;
using Attach.Contracts.Pool;
using Microsoft.AspNetCore.Mvc;

namespace Attach.Broker.Pool;

/// <summary>Calls an agent's bind/unbind API. Registered with the internal key and a resilience pipeline.</summary>
internal sealed class AgentClient(HttpClient http)
{
    /// <summary>The named HttpClient (with the internal key and the standard resilience pipeline).</summary>
    public const string HttpClientName = "agent";

    public async Task<BindingInfo> BindSliceAsync(Uri agentUrl, BindRequest request, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => http.PostAsJsonAsync(new Uri(agentUrl, "api/v1/bindings"), request, cancellationToken), agentUrl);
        await EnsureSuccessAsync(response, "bind", cancellationToken);
        return await response.Content.ReadFromJsonAsync<BindingInfo>(cancellationToken)
            ?? throw new AgentCallException($"the agent at {agentUrl} answered the bind with an empty body");
    }

    /// <summary>
    /// One cheap call to a newly registered agent (its ledger), so the first GPU cell does not pay for the
    /// connection and the compilation of this path. Failures are ignored: the next heartbeat tells the story.
    /// </summary>
    public async Task WarmUpAsync(Uri agentUrl)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(agentUrl, "api/v1/bindings"));
        }
        catch (Exception ex) when (ex is HttpRequestException or Polly.ExecutionRejectedException or TaskCanceledException or ObjectDisposedException)
        {
            // Unreachable right now (or the broker is stopping); placement will say so if it still is when a cell needs it.
        }
    }

    public async Task UnbindSliceAsync(Uri agentUrl, string leaseId, long epoch, CancellationToken cancellationToken)
    {
        var uri = new Uri(agentUrl, $"api/v1/bindings/{Uri.EscapeDataString(leaseId)}?epoch={epoch}");
        using var response = await SendAsync(() => http.DeleteAsync(uri, cancellationToken), agentUrl);
        await EnsureSuccessAsync(response, "unbind", cancellationToken);
    }

    private static async Task<HttpResponseMessage> SendAsync(Func<Task<HttpResponseMessage>> send, Uri agentUrl)
    {
        try
        {
            return await send();
        }
        catch (HttpRequestException ex)
        {
            throw new AgentCallException($"the agent at {agentUrl} cannot be reached ({ex.Message}); check that it is running", ex);
        }
        catch (Polly.ExecutionRejectedException ex)
        {
            throw new AgentCallException($"the agent at {agentUrl} did not answer in time or is failing repeatedly ({ex.Message})", ex);
        }
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string action, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string? detail = null;
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>(cancellationToken);
            detail = problem?.Detail ?? problem?.Title;
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a problem document; the status code says enough.
        }

        throw new AgentCallException($"the agent refused the {action} ({(int)response.StatusCode}): {detail ?? response.ReasonPhrase}")
        {
            NotFound = response.StatusCode == HttpStatusCode.NotFound,
        };
    }
}
