using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Attach.Contracts.Http;
using Attach.Contracts.Kernels;

namespace Attach.Gateway.Broker;

/// <summary>The gateway's calls to the kernel broker, on behalf of a user.</summary>
internal sealed class BrokerClient(IHttpClientFactory clients) : Channels.IExecutionBroker
{
    /// <summary>For the per-cell decision: one attempt, bounded by the attach timeout (the broker answers once the slice is bound).</summary>
    public const string ExecutePipeline = "broker-execute";

    /// <summary>For the batched reports (<see cref="ActivityReporter"/>): short timeouts, retried with jitter.</summary>
    public const string ReportPipeline = "broker-report";

    /// <summary>A progress line is a few hundred bytes; a longer one means the answer is not what the gateway expects.</summary>
    internal const int MaxLineChars = 64 * 1024;

    /// <summary>
    /// Asks for the streamed answer (<see cref="AttachMediaTypes.NdJson"/>): progress lines while the cell waits,
    /// then the decision. A broker that does not stream answers one JSON decision, which is read as such. The
    /// response is read as it arrives (not buffered), and cancelling aborts the request, which tells the broker
    /// to drop the waiter.
    /// </summary>
    public async Task<ExecutionDecision> ExecuteAsync(
        string kernelId,
        string user,
        ExecutionRequest request,
        Func<ExecutionProgress, CancellationToken, ValueTask> onProgress,
        CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"api/v1/kernels/{Uri.EscapeDataString(kernelId)}/executions")
        {
            Content = JsonContent.Create(request),
        };
        message.Headers.Add(AttachHeaders.User, user);
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(AttachMediaTypes.NdJson));
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json", 0.5));
        using var response = await clients.CreateClient(ExecutePipeline).SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        if (response.Content.Headers.ContentType?.MediaType != AttachMediaTypes.NdJson)
        {
            return await response.Content.ReadFromJsonAsync<ExecutionDecision>(JsonSerializerOptions.Web, cancellationToken)
                ?? throw new HttpRequestException("the broker answered with an empty body");
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(body);
        while (await ReadLineAsync(reader, cancellationToken) is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var update = JsonSerializer.Deserialize<ExecutionUpdate>(line, JsonSerializerOptions.Web)
                ?? throw new JsonException("the broker sent a null update line");
            if (update.Decision is { } decision)
            {
                // The broker ends the stream right after its decision. Read to that end: a response disposed before
                // its body is done cannot go back to the connection pool, and a new connection for every cell cost
                // far more than the decision itself (docs/benchmarks.md, one client).
                while (await ReadLineAsync(reader, cancellationToken) is not null)
                {
                }

                return decision;
            }

            if (update.Progress is { } progress)
            {
                await onProgress(progress, cancellationToken);
            }
        }

        throw new HttpRequestException("the broker's streamed answer ended before its decision");
    }

    /// <summary>One cheap call through the per-cell client: opens its connection and compiles its path.</summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, "api/v1/pool");
        using var response = await clients.CreateClient(ExecutePipeline).SendAsync(message, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The broker's detection rules (<see cref="ExecutionRuleSet"/>), through the per-cell client.</summary>
    public async Task<ExecutionRuleSet> GetRulesAsync(CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, "api/v1/detection/rules");
        using var response = await clients.CreateClient(ExecutePipeline).SendAsync(message, cancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<ExecutionRuleSet>(JsonSerializerOptions.Web, cancellationToken)
            ?? throw new JsonException("the broker answered the rules with an empty body");
    }

    /// <summary>Sends one user's observations, oldest first (<see cref="ActivityReporter"/>).</summary>
    public async Task ReportAsync(string user, KernelReportBatch batch, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "api/v1/kernels/reports")
        {
            Content = JsonContent.Create(batch),
        };
        message.Headers.Add(AttachHeaders.User, user);
        using var response = await clients.CreateClient(ReportPipeline).SendAsync(message, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Reads one line; a line longer than <see cref="MaxLineChars"/> is refused as not an update.</summary>
    private static async Task<string?> ReadLineAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var line = await reader.ReadLineAsync(cancellationToken);
        return line is { Length: > MaxLineChars }
            ? throw new HttpRequestException($"the broker sent a streamed line longer than {MaxLineChars} characters")
            : line;
    }
}
