using System.Net;
using System.Net.Http.Json;
using Attach.Contracts.Pool;

namespace Attach.Broker.Tests.Metrics;

/// <summary>
/// Answers the broker's calls to agents as an agent with free GPUs would (bind: the binding; unbind: done), so a
/// test runs the broker's real binder and lease table without an agent process. Every node's GPUs are the same.
/// </summary>
internal sealed class FakeAgentHandler(IReadOnlyList<GpuInfo> gpus, TimeProvider timeProvider) : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath == "/api/v1/bindings")
        {
            var bind = (await request.Content!.ReadFromJsonAsync<BindRequest>(cancellationToken))!;
            var gpu = gpus.Single(g => g.Index == bind.GpuIndex);
            var binding = new BindingInfo(
                bind.LeaseId, bind.Epoch, bind.KernelId, gpu, bind.MemoryMiB, bind.ComputePercent, new Dictionary<string, string>(), timeProvider.GetUtcNow(), bind.Owner);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(binding) };
        }

        if (request.Method == HttpMethod.Delete)
        {
            return new HttpResponseMessage(HttpStatusCode.NoContent);
        }

        return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(Array.Empty<BindingInfo>()) };
    }
}
