using System.Net;
using System.Net.Http.Json;
using Attach.Contracts.Pool;

namespace Attach.Broker.Tests.Fakes;

/// <summary>
/// An agent's bind/unbind and suspend/resume API: binds and unbinds are accepted; a suspend answers
/// <see cref="SuspendedBytes"/> copied to host memory, or the problem titled <see cref="SuspendRefusal"/> (409); a
/// resume answers success. Every suspend, resume and unbind is recorded.
/// </summary>
internal sealed class SuspendingAgent : HttpMessageHandler
{
    private readonly Lock _lock = new();
    private readonly List<(string LeaseId, SuspendRequest Request)> _suspends = [];
    private readonly List<(string LeaseId, ResumeRequest Request)> _resumes = [];
    private readonly List<string> _unbinds = [];

    /// <summary>The pid a suspend reports when the request names none.</summary>
    public int Pid { get; set; } = 4242;

    public long SuspendedBytes { get; set; } = 3L * 1024 * 1024 * 1024;

    /// <summary>When set, suspends are refused with a problem of this title (the agent's SuspendApi titles).</summary>
    public string? SuspendRefusal { get; set; }

    public IReadOnlyList<(string LeaseId, SuspendRequest Request)> Suspends { get { lock (_lock) { return [.. _suspends]; } } }

    public IReadOnlyList<(string LeaseId, ResumeRequest Request)> Resumes { get { lock (_lock) { return [.. _resumes]; } } }

    public IReadOnlyList<string> Unbinds { get { lock (_lock) { return [.. _unbinds]; } } }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (request.Method == HttpMethod.Get)
        {
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(Array.Empty<BindingInfo>()) };
        }

        if (request.Method == HttpMethod.Delete)
        {
            lock (_lock)
            {
                _unbinds.Add(Uri.UnescapeDataString(segments[3]));
            }

            return new HttpResponseMessage(HttpStatusCode.NoContent);
        }

        if (path.EndsWith("/suspend", StringComparison.Ordinal))
        {
            var leaseId = Uri.UnescapeDataString(segments[3]);
            var body = (await request.Content!.ReadFromJsonAsync<SuspendRequest>(cancellationToken))!;
            lock (_lock)
            {
                _suspends.Add((leaseId, body));
            }

            if (SuspendRefusal is { } title)
            {
                var problem = new { type = "about:blank", title, status = 409, detail = $"{title} (lease {leaseId})" };
                return new HttpResponseMessage(HttpStatusCode.Conflict) { Content = JsonContent.Create(problem) };
            }

            var result = new SuspendResumeResult(
                leaseId, body.Pid ?? Pid, SuspendOperation.Suspend, CudaProcessState.Checkpointed, SuspendedBytes, 1.5, true, GpuOf(0), "suspended");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(result) };
        }

        if (path.EndsWith("/resume", StringComparison.Ordinal))
        {
            var leaseId = Uri.UnescapeDataString(segments[3]);
            var body = (await request.Content!.ReadFromJsonAsync<ResumeRequest>(cancellationToken))!;
            lock (_lock)
            {
                _resumes.Add((leaseId, body));
            }

            var result = new SuspendResumeResult(
                leaseId, body.Pid ?? Pid, SuspendOperation.Resume, CudaProcessState.Running, SuspendedBytes, 0.75, true, GpuOf(body.TargetGpuIndex ?? 0), "resumed");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(result) };
        }

        var bind = (await request.Content!.ReadFromJsonAsync<BindRequest>(cancellationToken))!;
        var binding = new BindingInfo(
            bind.LeaseId, bind.Epoch, bind.KernelId, GpuOf(bind.GpuIndex), bind.MemoryMiB, bind.ComputePercent, new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, bind.Owner);
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(binding) };
    }

    private static GpuInfo GpuOf(int index) => new(index, $"SIM-{index:D2}", "A100 80GB", 80 * 1024, Simulated: true);
}
