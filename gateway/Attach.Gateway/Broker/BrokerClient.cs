using System.Net.Http.Json;
using Attach.Contracts.Http;
using Attach.Contracts.Kernels;

namespace Attach.Gateway.Broker;

/// <summary>The gateway's calls to the kernel broker, on behalf of a user.</summary>
internal sealed class BrokerClient(IHttpClientFactory clients) : Channels.IExecutionBroker
{
    /// <summary>For the per-cell decision: one attempt, bounded by the attach timeout (the broker answers once the slice is bound).</summary>
    public const string ExecutePipeline = "broker-execute";

    /// <summary>For busy/idle reports: short timeouts, retried with jitter.</summary>
    public const string ReportPipeline = "broker-report";

    public async Task<ExecutionDecision> ExecuteAsync(string kernelId, string user, ExecutionRequest request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"api/v1/kernels/{Uri.EscapeDataString(kernelId)}/executions")
        {
            Content = JsonContent.Create(request),
        };
        message.Headers.Add(AttachHeaders.User, user);
        using var response = await clients.CreateClient(ExecutePipeline).SendAsync(message, cancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<ExecutionDecision>(cancellationToken)
            ?? throw new HttpRequestException("the broker answered with an empty body");
    }

    /// <summary>One cheap call through the per-cell client: opens its connection and compiles its path.</summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, "api/v1/pool");
        using var response = await clients.CreateClient(ExecutePipeline).SendAsync(message, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public async Task ReportActivityAsync(string kernelId, string user, KernelActivityReport report, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"api/v1/kernels/{Uri.EscapeDataString(kernelId)}/activity")
        {
            Content = JsonContent.Create(report),
        };
        message.Headers.Add(AttachHeaders.User, user);
        using var response = await clients.CreateClient(ReportPipeline).SendAsync(message, cancellationToken);
        response.EnsureSuccessStatusCode();
    }
}
