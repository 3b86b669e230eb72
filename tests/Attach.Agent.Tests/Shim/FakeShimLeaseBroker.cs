using System.Collections.Concurrent;
using System.Threading.Channels;
using Attach.Agent.Shim;
using Attach.Agent.Slices;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;

namespace Attach.Agent.Tests.Shim;

/// <summary>
/// Stands in for the broker: a grant binds a slice in the agent's real ledger (as the broker's bind call would) and
/// a release unbinds it, so the server builds the environment exactly as in production.
/// </summary>
internal sealed class FakeShimLeaseBroker(SliceLedger ledger, string nodeId, int gpuCount) : IShimLeaseBroker
{
    private readonly ConcurrentQueue<ShimLeaseRequest> _requests = new();
    private readonly ConcurrentDictionary<string, long> _outstanding = new(StringComparer.Ordinal);
    private readonly Channel<ShimLeaseRelease> _releases = Channel.CreateUnbounded<ShimLeaseRelease>();
    private int _nextLease;

    /// <summary>What a request does; by default the lease is granted at once.</summary>
    public Func<ShimLeaseRequest, Func<ShimQueuePosition, CancellationToken, ValueTask>, CancellationToken, Task<ShimLeaseDecision>>? Decide { get; set; }

    /// <summary>Every request, in arrival order.</summary>
    public IReadOnlyList<ShimLeaseRequest> Requests => [.. _requests];

    /// <summary>Leases granted and not released.</summary>
    public IReadOnlyCollection<string> Outstanding => [.. _outstanding.Keys];

    public Task<ShimLeaseDecision> RequestAsync(
        ShimLeaseRequest request, Func<ShimQueuePosition, CancellationToken, ValueTask> onQueued, CancellationToken cancellationToken)
    {
        _requests.Enqueue(request);
        return Decide is { } decide ? decide(request, onQueued, cancellationToken) : Task.FromResult(Grant(request));
    }

    public async Task ReleaseAsync(ShimLeaseRelease release, CancellationToken cancellationToken)
    {
        if (_outstanding.TryRemove(release.LeaseId, out var epoch))
        {
            ledger.Unbind(release.LeaseId, epoch);
        }

        await _releases.Writer.WriteAsync(release, cancellationToken);
    }

    /// <summary>Binds a slice for the request and answers with its attachment.</summary>
    public ShimLeaseDecision Grant(ShimLeaseRequest request, bool newlyAttached = true, int computePercent = 10)
    {
        var number = Interlocked.Increment(ref _nextLease);
        var leaseId = $"lease-{number}";
        var gpuIndex = number % gpuCount;
        var memoryMiB = request.MemoryMiB ?? 2048;
        var result = ledger.Bind(new BindRequest(leaseId, 1, request.Session, gpuIndex, memoryMiB, computePercent));
        Assert.True(result.Succeeded, result.Refusal?.Detail);
        _outstanding[leaseId] = 1;
        var gpu = result.Binding.Gpu;
        return ShimLeaseDecision.Grant(new AttachmentInfo(leaseId, nodeId, gpu.Index, gpu.Uuid, gpu.DisplayName, gpu.Simulated, memoryMiB, gpu.MemoryTotalMiB, 1.25), newlyAttached);
    }

    /// <summary>The next release, waiting up to a few seconds for it.</summary>
    public async Task<ShimLeaseRelease> NextReleaseAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _releases.Reader.ReadAsync(timeout.Token);
    }

    public bool TryTakeRelease(out ShimLeaseRelease? release) => _releases.Reader.TryRead(out release);
}
