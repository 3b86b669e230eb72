using System.Net;
using System.Text.Json;
using Attach.Contracts.Kernels;
using Attach.Gateway.Broker;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Attach.Gateway.Tests.Broker;

/// <summary><see cref="BrokerClient.ExecuteAsync"/> against a real Kestrel endpoint that answers as the broker does.</summary>
public sealed class BrokerClientStreamingTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly TaskCompletionSource _releaseDecision = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _requestAborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _broker;
    private Uri? _url;
    private string? _accept;
    private readonly System.Collections.Concurrent.ConcurrentBag<string> _connections = [];

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _broker = builder.Build();
        _broker.MapPost("/api/v1/kernels/{id}/executions", async (HttpContext context, string id) =>
        {
            _accept = context.Request.Headers.Accept.ToString();
            context.RequestAborted.Register(() => _requestAborted.TrySetResult());
            _connections.Add(context.Connection.Id);
            switch (id)
            {
                case "decided-then-ends":
                    // As the broker does: the decision line, flushed, then the end of the response a moment later.
                    context.Response.ContentType = AttachMediaTypes.NdJson;
                    await WriteLineAsync(context, new ExecutionUpdate(null, new ExecutionDecision(false, "no GPU library imported", null, false, null)));
                    await Task.Delay(TimeSpan.FromMilliseconds(200));
                    return;
                case "plain":
                    await context.Response.WriteAsJsonAsync(new ExecutionDecision(false, "no GPU library imported", null, false, null), JsonSerializerOptions.Web);
                    return;
                case "cut-short":
                    context.Response.ContentType = AttachMediaTypes.NdJson;
                    await WriteLineAsync(context, new ExecutionUpdate(new ExecutionProgress(ExecutionPhase.Queued, 1, 1, null, "waiting"), null));
                    return;
            }

            context.Response.ContentType = AttachMediaTypes.NdJson;
            await WriteLineAsync(context, new ExecutionUpdate(new ExecutionProgress(ExecutionPhase.Queued, 2, 5, 40, "waiting for a GPU: position 2 of 5, about 40 s"), null));
            await WriteLineAsync(context, new ExecutionUpdate(new ExecutionProgress(ExecutionPhase.Attaching, null, null, null, "attaching"), null));

            // The decision is written only once the client has shown the progress: the client must read as lines arrive.
            try
            {
                await _releaseDecision.Task.WaitAsync(context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await WriteLineAsync(context, new ExecutionUpdate(null, new ExecutionDecision(true, "import torch", null, false, "the pool is empty")));
        });
        await _broker.StartAsync();
        _url = new Uri(_broker.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Execute_StreamedAnswer_IsReadToItsEnd_SoTheNextCellReusesTheConnection()
    {
        // One handler for both calls, as IHttpClientFactory's pooled handlers are: a response disposed before its
        // body ended would close its connection, and every cell would pay for a new one.
        using var handler = new SocketsHttpHandler();
        var client = new BrokerClient(new PooledClientFactory(_url!, handler));
        using var timeout = new CancellationTokenSource(Wait);

        for (var cell = 0; cell < 2; cell++)
        {
            var decision = await client.ExecuteAsync("decided-then-ends", "ada", new ExecutionRequest("m" + cell, "x = 1"), (_, _) => ValueTask.CompletedTask, timeout.Token);
            Assert.False(decision.NeedsGpu);
        }

        Assert.Single(_connections.Distinct());
    }

    [Fact]
    public async Task Execute_StreamedAnswer_PassesEachProgressLineAsItArrives_ThenReturnsTheDecision()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var seen = new List<ExecutionProgress>();
        var client = new BrokerClient(new SingleClientFactory(_url!));

        var decision = await client.ExecuteAsync("k1", "u", new ExecutionRequest("m1", "import torch"), (progress, _) =>
        {
            seen.Add(progress);
            if (seen.Count == 2)
            {
                _releaseDecision.TrySetResult();
            }

            return ValueTask.CompletedTask;
        }, timeout.Token);

        Assert.Contains(AttachMediaTypes.NdJson, _accept, StringComparison.Ordinal);
        Assert.Equal([ExecutionPhase.Queued, ExecutionPhase.Attaching], seen.Select(p => p.Phase));
        Assert.Equal((2, 5, 40.0), (seen[0].QueuePosition, seen[0].QueueLength, seen[0].EtaSeconds));
        Assert.Equal("waiting for a GPU: position 2 of 5, about 40 s", seen[0].Message);
        Assert.Equal(("import torch", "the pool is empty"), (decision.Rule, decision.Error));
    }

    [Fact]
    public async Task Execute_OlderBrokerAnswersOneJsonDecision_ReturnsIt()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var client = new BrokerClient(new SingleClientFactory(_url!));

        var decision = await client.ExecuteAsync("plain", "u", new ExecutionRequest("m1", "print(1)"), (_, _) => throw new InvalidOperationException("no progress expected"), timeout.Token);

        Assert.False(decision.NeedsGpu);
        Assert.Equal("no GPU library imported", decision.Rule);
    }

    [Fact]
    public async Task Execute_StreamEndsWithoutDecision_ThrowsHttpRequestException()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var client = new BrokerClient(new SingleClientFactory(_url!));

        await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.ExecuteAsync("cut-short", "u", new ExecutionRequest("m1", "import torch"), (_, _) => ValueTask.CompletedTask, timeout.Token));
    }

    [Fact]
    public async Task Execute_CancelledWhileQueued_AbortsTheRequestAtTheBroker()
    {
        using var timeout = new CancellationTokenSource(Wait);
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var client = new BrokerClient(new SingleClientFactory(_url!));

        var call = client.ExecuteAsync("k1", "u", new ExecutionRequest("m1", "import torch"), (progress, _) =>
        {
            if (progress.Phase == ExecutionPhase.Attaching)
            {
                interrupt.Cancel();
            }

            return ValueTask.CompletedTask;
        }, interrupt.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await _requestAborted.Task.WaitAsync(timeout.Token);
    }

    private static async Task WriteLineAsync(HttpContext context, ExecutionUpdate update)
    {
        await context.Response.WriteAsync(JsonSerializer.Serialize(update, JsonSerializerOptions.Web) + "\n");
        await context.Response.Body.FlushAsync();
    }

    private sealed class PooledClientFactory(Uri baseAddress, HttpMessageHandler handler) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(handler, disposeHandler: false) { BaseAddress = baseAddress };
    }

    private sealed class SingleClientFactory(Uri baseAddress) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new() { BaseAddress = baseAddress };
    }
}
