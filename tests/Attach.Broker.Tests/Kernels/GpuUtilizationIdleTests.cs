using System.Security.Claims;
using Attach.Broker.Apis;
using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Attach.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Kernels;

/// <summary>
/// The idle policy hears from the agents' GPU readings as well as from the gateway: a kernel attached through the
/// runtime path (no cell the gateway sees) keeps its slice while its GPU's utilisation in the heartbeats is at or
/// above the busy threshold. The heartbeat endpoint, the lease table, the real binder and the kernel registry together,
/// with an accepting agent and a fake clock.
/// </summary>
public sealed class GpuUtilizationIdleTests : IDisposable
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan BeatInterval = TimeSpan.FromMinutes(1);
    private static readonly GpuInfo H100 = new(0, "GPU-0b7c", "H100 80GB", 80 * GiB, Simulated: false);
    private static readonly ClaimsPrincipal Service = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, AttachClaims.ServiceUser)], "test"));

    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly HttpClient _http = new(new AcceptingAgent());
    private readonly NodeRegistry _nodes;
    private readonly LeaseTable _leases;
    private readonly AgentClient _agents;
    private readonly RecordingEventPublisher _events = new();
    private readonly KernelRegistry _kernels;

    public GpuUtilizationIdleTests()
    {
        var options = Options.Create(new BrokerOptions { IdleTimeout = IdleTimeout });
        _nodes = new NodeRegistry(_time, options);
        _leases = new LeaseTable(_nodes, _time);
        _agents = new AgentClient(_http);
        var binder = new GpuBinder(_leases, _agents, _time, NullLogger<GpuBinder>.Instance);
        _kernels = new KernelRegistry(binder, _events, _time, options, NullLoggerFactory.Instance, scheduling: Options.Create(new SchedulingOptions()), leases: _leases);
    }

    public void Dispose()
    {
        _kernels.Dispose();
        _http.Dispose();
    }

    private Results<NoContent, ForbidHttpResult, ValidationProblem> Beat(int? utilizationPercent, bool simulated = false, bool withReadings = true)
    {
        var bindings = _leases.Snapshot()
            .Select(l => Binding(l.LeaseId, l.Epoch, l.Gpu, l.MemoryMiB, l.ComputePercent, l.KernelId, l.Owner))
            .ToList();
        var reading = new GpuReading(0, H100.Uuid, simulated, 40_000, utilizationPercent, simulated ? null : "550.54", [], Mig: null);
        var heartbeat = Heartbeat("node-a", [H100], bindings) with { Readings = withReadings ? [reading] : null };
        return NodesApi.Heartbeat("node-a", heartbeat, _nodes, _leases, _kernels, _agents, Service, NullLoggerFactory.Instance, CancellationToken.None);
    }

    /// <summary>A kernel attached as <c>POST /api/v1/kernels/{id}/runtime-attach</c> attaches it: no cell, no busy report.</summary>
    private async Task<KernelStateMachine> RuntimeAttachedAsync()
    {
        Assert.IsType<NoContent>(Beat(utilizationPercent: 0).Result);
        var kernel = _kernels.GetOrAddForService("train-py", "ada");
        var outcome = await kernel.EnsureAttachedAsync(new SliceRequest(20 * GiB, 25), "runtime attach (attach run)", CancellationToken.None);
        Assert.Null(outcome.Error);
        Assert.Equal(KernelState.Attached, kernel.Status.State);
        return kernel;
    }

    /// <summary>Heartbeats every minute for <paramref name="duration"/>, each with <paramref name="utilizationPercent"/>.</summary>
    private void BeatFor(TimeSpan duration, int? utilizationPercent, bool simulated = false)
    {
        for (var elapsed = TimeSpan.Zero; elapsed < duration; elapsed += BeatInterval)
        {
            _time.Advance(BeatInterval);
            Assert.IsType<NoContent>(Beat(utilizationPercent, simulated).Result);
        }
    }

    [Fact]
    public async Task RuntimeAttachedKernel_WhoseGpuReportsWork_StaysAttachedForTwiceTheIdleTimeout()
    {
        var kernel = await RuntimeAttachedAsync();

        BeatFor(IdleTimeout * 2, utilizationPercent: 80);

        var status = kernel.Status;
        Assert.Equal(KernelState.Attached, status.State);
        Assert.Contains("its GPU reports work", status.Reason, StringComparison.Ordinal);
        Assert.Equal(_time.GetUtcNow() + IdleTimeout, status.ReleaseAt);
        Assert.Single(_leases.Snapshot());
    }

    [Fact]
    public async Task RuntimeAttachedKernel_WhenItsGpuGoesQuiet_IsReleasedAnIdleTimeoutAfterTheLastWork()
    {
        var kernel = await RuntimeAttachedAsync();
        BeatFor(IdleTimeout + BeatInterval, utilizationPercent: 80);
        var lastWork = _time.GetUtcNow();

        BeatFor(IdleTimeout - BeatInterval, utilizationPercent: 0);
        Assert.Equal(KernelState.Attached, kernel.Status.State);
        Assert.Equal(lastWork + IdleTimeout, kernel.Status.ReleaseAt);

        BeatFor(BeatInterval, utilizationPercent: 0);
        await _events.WaitForAsync(KernelState.Detached);
        Assert.Equal(KernelState.Detached, kernel.Status.State);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData(9, false)]
    [InlineData(80, true)]
    public async Task ReadingWithoutUtilisationBelowTheThresholdOrSimulated_ChangesNothing(int? utilizationPercent, bool simulated)
    {
        var kernel = await RuntimeAttachedAsync();
        var attachedAt = _time.GetUtcNow();

        BeatFor(IdleTimeout - BeatInterval, utilizationPercent, simulated);
        Assert.Equal(KernelState.Attached, kernel.Status.State);
        Assert.Equal(attachedAt + IdleTimeout, kernel.Status.ReleaseAt);

        BeatFor(BeatInterval, utilizationPercent, simulated);
        await _events.WaitForAsync(KernelState.Detached);
    }

    [Fact]
    public async Task HeartbeatWithoutReadings_ChangesNothing()
    {
        var kernel = await RuntimeAttachedAsync();

        _time.Advance(IdleTimeout - BeatInterval);
        Assert.IsType<NoContent>(Beat(utilizationPercent: null, withReadings: false).Result);
        Assert.Equal(Epoch + IdleTimeout, kernel.Status.ReleaseAt);

        _time.Advance(BeatInterval);
        await _events.WaitForAsync(KernelState.Detached);
    }

    [Fact]
    public async Task SharedGpuThatWorks_KeepsEveryKernelHoldingASliceOnIt()
    {
        var first = await RuntimeAttachedAsync();
        var second = _kernels.GetOrAddForService("notebook-2", "grace");
        Assert.Null((await second.EnsureAttachedAsync(new SliceRequest(20 * GiB, 25), "cuda-call", CancellationToken.None)).Error);

        BeatFor(IdleTimeout * 2, utilizationPercent: 50);

        Assert.Equal((KernelState.Attached, KernelState.Attached), (first.Status.State, second.Status.State));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void BusyUtilizationPercentOutOfRange_FailsValidation(int percent)
    {
        var options = new SchedulingOptions { BusyUtilizationPercent = percent };
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();

        var valid = System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), results, validateAllProperties: true);

        Assert.False(valid);
        Assert.Contains(results, r => r.MemberNames.Contains(nameof(SchedulingOptions.BusyUtilizationPercent)));
    }
}
