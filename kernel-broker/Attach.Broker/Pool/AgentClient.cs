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

    /// <summary>
    /// Has the agent copy the CUDA state of the process behind <paramref name="leaseId"/> to host memory
    /// (<c>POST api/v1/bindings/{leaseId}/suspend</c>). A refusal throws <see cref="AgentCallException"/> with the
    /// problem's title, which says why (no process, no CUDA state, …).
    /// </summary>
    public async Task<SuspendResumeResult> SuspendAsync(Uri agentUrl, string leaseId, SuspendRequest request, CancellationToken cancellationToken)
    {
        var uri = new Uri(agentUrl, $"api/v1/bindings/{Uri.EscapeDataString(leaseId)}/suspend");
        using var response = await SendAsync(() => http.PostAsJsonAsync(uri, request, cancellationToken), agentUrl);
        await EnsureSuccessAsync(response, "suspend", cancellationToken);
        return await response.Content.ReadFromJsonAsync<SuspendResumeResult>(cancellationToken)
            ?? throw new AgentCallException($"the agent at {agentUrl} answered the suspend with an empty body");
    }

    /// <summary>Has the agent restore a suspended process onto a GPU (<c>POST api/v1/bindings/{leaseId}/resume</c>).</summary>
    public async Task<SuspendResumeResult> ResumeAsync(Uri agentUrl, string leaseId, ResumeRequest request, CancellationToken cancellationToken)
    {
        var uri = new Uri(agentUrl, $"api/v1/bindings/{Uri.EscapeDataString(leaseId)}/resume");
        using var response = await SendAsync(() => http.PostAsJsonAsync(uri, request, cancellationToken), agentUrl);
        await EnsureSuccessAsync(response, "resume", cancellationToken);
        return await response.Content.ReadFromJsonAsync<SuspendResumeResult>(cancellationToken)
            ?? throw new AgentCallException($"the agent at {agentUrl} answered the resume with an empty body");
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
        string? title = null;
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>(cancellationToken);
            detail = problem?.Detail ?? problem?.Title;
            title = problem?.Title;
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a problem document; the status code says enough.
        }

        throw new AgentCallException($"the agent refused the {action} ({(int)response.StatusCode}): {detail ?? response.ReasonPhrase}")
        {
            NotFound = response.StatusCode == HttpStatusCode.NotFound,
            StatusCode = (int)response.StatusCode,
            Title = title,
        };
    }
}
