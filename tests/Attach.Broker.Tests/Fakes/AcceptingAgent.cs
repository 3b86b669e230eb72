using System.Net;
using System.Net.Http.Json;
using Attach.Contracts.Pool;

namespace Attach.Broker.Tests.Fakes;

/// <summary>An agent's bind/unbind API that accepts every call (binds answer the binding, unbinds 204, ledger reads an empty list); suspends find no process.</summary>
internal sealed class AcceptingAgent : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Method == HttpMethod.Get)
        {
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(Array.Empty<BindingInfo>()) };
        }

        if (request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath.EndsWith("/suspend", StringComparison.Ordinal))
        {
            // As an agent answers when it knows no process behind the lease (the kernel never reached cuInit through the shim).
            var problem = new { title = "No process to suspend", status = 409, detail = "No process is known for the lease." };
            return new HttpResponseMessage(HttpStatusCode.Conflict) { Content = JsonContent.Create(problem) };
        }

        if (request.Method == HttpMethod.Post)
        {
            var bind = (await request.Content!.ReadFromJsonAsync<BindRequest>(cancellationToken))!;
            var gpu = new GpuInfo(bind.GpuIndex, $"SIM-{bind.GpuIndex:D2}", "A100 80GB", 80 * 1024, Simulated: true);
            var binding = new BindingInfo(bind.LeaseId, bind.Epoch, bind.KernelId, gpu, bind.MemoryMiB, bind.ComputePercent, new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, bind.Owner);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(binding) };
        }

        return new HttpResponseMessage(HttpStatusCode.NoContent);
    }
}
