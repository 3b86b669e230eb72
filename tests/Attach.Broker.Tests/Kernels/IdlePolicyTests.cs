using Attach.Broker.Apis;
using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Broker.Tests.Kernels;

/// <summary>The idle policy per slice profile, with a minimum hold since the attach, on a fake clock.</summary>
public sealed class IdlePolicyTests : IDisposable
{
    private static readonly TimeSpan DefaultIdle = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Hold = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan FullIdle = TimeSpan.FromMinutes(1);

    private readonly FakeTimeProvider _time = new();
    private readonly FakeGpuBinder _binder = new();
    private readonly RecordingEventPublisher _events = new();
    private readonly KernelStateMachine _kernel;

    public IdlePolicyTests()
    {
        var policy = new IdlePolicy(DefaultIdle, Hold, new Dictionary<string, IdleProfile>
        {
            ["full"] = new() { IdleTimeout = FullIdle, MinimumHold = TimeSpan.Zero },
        });
        _kernel = new KernelStateMachine("kernel-1", "alice", _binder, _events, _time, DefaultIdle, NullLogger.Instance, policy);
    }

    public void Dispose() => _kernel.Dispose();

    [Fact]
    public async Task IdleRightAfterAttach_KeepsTheSliceUntilTheMinimumHold()
    {
        var attachedAt = _time.GetUtcNow();
        await _kernel.EnsureAttachedAsync(new SliceRequest(20 * 1024, 25), "cuda-call", CancellationToken.None);

        Assert.Equal(attachedAt + Hold, _kernel.Status.ReleaseAt);
        _time.Advance(DefaultIdle);
        Assert.Equal(KernelState.Attached, _kernel.Status.State);
        _time.Advance(Hold - DefaultIdle - TimeSpan.FromSeconds(1));
        Assert.Equal(KernelState.Attached, _kernel.Status.State);
        _time.Advance(TimeSpan.FromSeconds(1));

        var releasing = await _events.WaitForAsync(KernelState.Releasing);
        Assert.Contains("idle for 600 s", releasing.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdleReportWithinTheMinimumHold_SaysTheSliceIsKeptUntilTheHoldEnds()
    {
        await _kernel.EnsureAttachedAsync(new SliceRequest(20 * 1024, 25), "cuda-call", CancellationToken.None);
        _kernel.ReportActivity(KernelActivity.Busy);
        _time.Advance(TimeSpan.FromMinutes(1));

        _kernel.ReportActivity(KernelActivity.Idle);

        var status = _kernel.Status;
        Assert.Contains("not before it has been held 600 s (the minimum hold)", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdleAfterTheMinimumHold_TheIdleTimeoutAloneDecides()
    {
        await _kernel.EnsureAttachedAsync(new SliceRequest(20 * 1024, 25), "cuda-call", CancellationToken.None);
        _kernel.ReportActivity(KernelActivity.Busy);
        _time.Advance(Hold + TimeSpan.FromMinutes(1));
        var idleAt = _time.GetUtcNow();

        _kernel.ReportActivity(KernelActivity.Idle);

        Assert.Equal(idleAt + DefaultIdle, _kernel.Status.ReleaseAt);
        Assert.DoesNotContain("minimum hold", _kernel.Status.Reason, StringComparison.Ordinal);
        _time.Advance(DefaultIdle);
        var releasing = await _events.WaitForAsync(KernelState.Releasing);
        Assert.Contains("idle for 300 s", releasing.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SliceOfAProfileWithItsOwnPolicy_GoesBackAfterThatProfilesIdleTimeout()
    {
        var attachedAt = _time.GetUtcNow();
        await _kernel.EnsureAttachedAsync(new SliceRequest(0, 100, GpuFraction: 1, Profile: "FULL"), "cuda-call", CancellationToken.None);

        Assert.Equal(attachedAt + FullIdle, _kernel.Status.ReleaseAt);
        _time.Advance(FullIdle);

        var releasing = await _events.WaitForAsync(KernelState.Releasing);
        Assert.Contains("idle for 60 s", releasing.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_ProfileWithoutItsOwnValues_FallsBackOnTheDefaults()
    {
        var policy = IdlePolicy.From(
            new BrokerOptions { IdleTimeout = DefaultIdle },
            new SchedulingOptions { MinimumHold = Hold, Idle = new(StringComparer.OrdinalIgnoreCase) { ["half"] = new() { IdleTimeout = FullIdle } } });

        Assert.Equal(new IdleRule(FullIdle, Hold), policy.For("half"));
        Assert.Equal(new IdleRule(DefaultIdle, Hold), policy.For("quarter"));
        Assert.Equal(new IdleRule(DefaultIdle, Hold), policy.For(null));
    }

    [Fact]
    public void SliceChoice_ByProfile_CarriesTheProfileSoItsIdlePolicyApplies()
    {
        var (slice, error) = SliceChoice.For(null, new SlicePreference("half", null), new BrokerOptions(), new SchedulingOptions());

        Assert.Null(error);
        Assert.Equal(("half", 0.5), (slice.Profile, slice.GpuFraction));
    }

    [Fact]
    public void Validator_IdlePolicyForAnUnknownProfile_FailsNamingTheProfiles()
    {
        var options = new SchedulingOptions { Idle = new(StringComparer.OrdinalIgnoreCase) { ["huge"] = new() { IdleTimeout = FullIdle } } };

        var result = new SchedulingOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Broker:Scheduling:Idle:huge names no slice profile; use one of full, half, quarter", result.FailureMessage, StringComparison.Ordinal);
    }
}
