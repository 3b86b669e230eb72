using Attach.Broker.Pool;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;

namespace Attach.Broker.Tests.Fakes;

/// <summary>
/// A <see cref="FakeGpuBinder"/> whose agent suspends every process (<see cref="SuspendedBytes"/>, pid 4242) and
/// resumes it in 0.75 s (simulated); records the resumes.
/// </summary>
internal sealed class SuspendingGpuBinder : IGpuBinder
{
    private readonly FakeGpuBinder _inner = new();
    private readonly List<(string LeaseId, int Pid, int TargetGpuIndex)> _resumes = [];

    public long SuspendedBytes { get; init; } = 2L * 1024 * 1024 * 1024;

    public IReadOnlyList<(string LeaseId, int Pid, int TargetGpuIndex)> Resumes
    {
        get
        {
            lock (_resumes)
            {
                return [.. _resumes];
            }
        }
    }

    public Task<AttachmentInfo> BindAsync(string kernelId, string owner, SliceRequest request, DateTimeOffset requestedAt, IQueueObserver? observer, CancellationToken cancellationToken) =>
        _inner.BindAsync(kernelId, owner, request, requestedAt, observer, cancellationToken);

    public Task UnbindAsync(string leaseId, CancellationToken cancellationToken) => _inner.UnbindAsync(leaseId, cancellationToken);

    public void ExpectRelease(string leaseId, DateTimeOffset? at) => _inner.ExpectRelease(leaseId, at);

    public Task<SuspendResumeResult?> SuspendAsync(string leaseId, int? pid, CancellationToken cancellationToken) =>
        Task.FromResult<SuspendResumeResult?>(Result(leaseId, pid ?? 4242, SuspendOperation.Suspend, 0, 1.25));

    public Task<SuspendResumeResult> ResumeAsync(string leaseId, int pid, int targetGpuIndex, CancellationToken cancellationToken)
    {
        lock (_resumes)
        {
            _resumes.Add((leaseId, pid, targetGpuIndex));
        }

        return Task.FromResult(Result(leaseId, pid, SuspendOperation.Resume, targetGpuIndex, 0.75));
    }

    private SuspendResumeResult Result(string leaseId, int pid, SuspendOperation operation, int gpuIndex, double seconds) =>
        new(leaseId, pid, operation, operation == SuspendOperation.Suspend ? CudaProcessState.Checkpointed : CudaProcessState.Running,
            SuspendedBytes, seconds, true, new GpuInfo(gpuIndex, $"SIM-{gpuIndex:D4}", "A100 80GB", 81920, Simulated: true), operation.ToString());
}
