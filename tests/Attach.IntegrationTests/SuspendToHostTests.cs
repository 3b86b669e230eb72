using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Attach.Contracts.Http;
using Attach.Contracts.Kernels;
using Attach.Testing;

namespace Attach.IntegrationTests;

/// <summary>
/// Idle suspend-to-host and resume with the real broker and the real agent on its simulated backend: a process the
/// shim reported idles past the idle timeout (2 s here), the agent suspends it (simulated cuda-checkpoint), the slice
/// goes back to the pool, the session shows the bytes kept in host memory; the next GPU cell resumes it.
/// </summary>
[Collection(EmbeddedDeploymentCollection.Name)]
public sealed class SuspendToHostTests(EmbeddedDeploymentFixture fixture)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly EmbeddedDeployment _deployment = fixture.Deployment;

    [Fact]
    public async Task IdleProcessReportedByTheShim_IsSuspendedByTheSimulatedAgent_AndItsNextGpuCellResumesIt()
    {
        var session = $"susp-{Guid.NewGuid():N}"[..20];
        using var gateway = _deployment.GatewayClient();
        (await gateway.PutAsync($"attach/api/v1/kernels/{session}", null)).EnsureSuccessStatusCode();
        using var service = new HttpClient { BaseAddress = _deployment.BrokerUrl };
        service.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _deployment.InternalKey);

        // What the agent sends when the shim's process reaches cuInit (the pid is any process's: the backend is simulated).
        using (var attach = await service.PostAsJsonAsync(
            $"api/v1/kernels/{session}/runtime-attach", new RuntimeAttachRequest("test-node", Environment.ProcessId, 0, 0, null, Wait: false)))
        {
            attach.EnsureSuccessStatusCode();
        }

        var suspended = await WaitForAsync(gateway, session, KernelState.Suspended, TimeSpan.FromSeconds(30));
        Assert.True(suspended.SuspendedBytes > 0, suspended.Reason);
        Assert.Contains("kept in host memory", suspended.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(session, await gateway.GetStringAsync("attach/api/v1/pool"), StringComparison.Ordinal);

        using var user = new HttpClient { BaseAddress = _deployment.BrokerUrl };
        user.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _deployment.InternalKey);
        user.DefaultRequestHeaders.Add(AttachHeaders.User, _deployment.User);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/v1/kernels/{session}/executions")
        {
            Content = JsonContent.Create(new ExecutionRequest("m-1", "model = Net().cuda()\nmodel(x.cuda())")),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(AttachMediaTypes.NdJson));
        using var response = await user.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var updates = (await response.Content.ReadAsStringAsync())
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonSerializer.Deserialize<ExecutionUpdate>(line, Json)!)
            .ToList();

        Assert.Null(updates[^1].Decision!.Error);
        Assert.NotNull(updates[^1].Decision!.Attachment);
        Assert.Contains(updates, u => u.Progress is { Phase: ExecutionPhase.Resuming } p && p.Message.StartsWith("resumed from host memory in", StringComparison.Ordinal));
        Assert.Contains(_deployment.AllOutput().Split('\n'), l => l.Contains("resumed", StringComparison.OrdinalIgnoreCase) && l.Contains(session, StringComparison.Ordinal));
        await gateway.PostAsync($"attach/api/v1/kernels/{session}/release", null);
    }

    private static async Task<KernelStatus> WaitForAsync(HttpClient gateway, string session, KernelState state, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        KernelStatus? status = null;
        while (!cts.IsCancellationRequested)
        {
            status = await gateway.GetFromJsonAsync<KernelStatus>($"attach/api/v1/kernels/{session}");
            if (status!.State == state)
            {
                return status;
            }

            await Task.Delay(100, CancellationToken.None);
        }

        Assert.Fail($"session {session} never reached {state}; it is {status?.State}: {status?.Reason}");
        return status!;
    }
}
