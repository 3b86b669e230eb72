using Attach.Broker.Metrics;
using Attach.Contracts.Kernels;

namespace Attach.Broker.Tests.Metrics;

public sealed class GpuTimeLedgerTests
{
    private static readonly DateTimeOffset Nine = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void QuarterOfAGpuForAnHour_Is900GpuSecondsUsedAndTheRestOfTheUsersHourSaved()
    {
        var ledger = new GpuTimeLedger();
        ledger.Record(Change("k-1", "ada", KernelState.Detached, KernelState.Attaching, null), Nine);
        ledger.Record(Change("k-1", "ada", KernelState.Attaching, KernelState.Attached, Slice("lease-1", 20)), Nine);
        ledger.Record(Change("k-1", "ada", KernelState.Attached, KernelState.Releasing, Slice("lease-1", 20)), Nine.AddMinutes(50));
        ledger.Record(Change("k-1", "ada", KernelState.Releasing, KernelState.Detached, null), Nine.AddHours(1));

        var time = ledger.Totals(Nine.AddHours(2));

        Assert.Equal(900, time.Used, precision: 6);
        Assert.Equal(7200, time.OneGpuPerUser, precision: 6);
        Assert.Equal(6300, time.Saved, precision: 6);
    }

    [Fact]
    public void SliceStillHeld_CountsUpToNow_AndEveryUserSeenCountsAWholeGpuFromWhenTheyAppeared()
    {
        var ledger = new GpuTimeLedger();
        ledger.Record(Change("k-1", "ada", KernelState.Attaching, KernelState.Attached, Slice("lease-1", 80)), Nine);
        ledger.Record(Change("k-2", "grace", KernelState.Detached, KernelState.Attaching, null), Nine.AddMinutes(30));
        ledger.Record(Change("k-2", "grace", KernelState.Attaching, KernelState.Failed, null), Nine.AddMinutes(30));

        var time = ledger.Totals(Nine.AddHours(1));

        Assert.Equal(3600, time.Used, precision: 6);
        Assert.Equal(3600 + 1800, time.OneGpuPerUser, precision: 6);
    }

    [Fact]
    public void KernelGivenANewLease_EndsTheOldOneAndStartsTheNew()
    {
        var ledger = new GpuTimeLedger();
        ledger.Record(Change("k-1", "ada", KernelState.Attaching, KernelState.Attached, Slice("lease-1", 40)), Nine);
        ledger.Record(Change("k-1", "ada", KernelState.Resuming, KernelState.Attached, Slice("lease-2", 20)), Nine.AddMinutes(10));
        // Busy and idle reports repeat the same attachment: nothing starts again.
        ledger.Record(Change("k-1", "ada", KernelState.Attached, KernelState.Attached, Slice("lease-2", 20)), Nine.AddMinutes(15));

        var time = ledger.Totals(Nine.AddMinutes(20));

        Assert.Equal((600 * 0.5) + (600 * 0.25), time.Used, precision: 6);
    }

    private static AttachmentInfo Slice(string leaseId, long gib) =>
        new(leaseId, "node-a", 0, "SIM-00", "A100 80GB (simulated)", true, gib * 1024, 80 * 1024, 0.5);

    private static KernelStateChanged Change(string kernelId, string owner, KernelState from, KernelState to, AttachmentInfo? attachment) =>
        new(kernelId, from, to, "test", new KernelStatus(kernelId, owner, to, false, attachment, DateTimeOffset.MinValue, null, "test"));
}
