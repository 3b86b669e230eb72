using Attach.Agent.Gpu;
using Attach.Agent.Slices;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Agent.Tests.Slices;

public sealed class SliceLedgerTests
{
    private const long GpuMiB = 81920;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly SliceLedger _ledger;

    public SliceLedgerTests()
    {
        var inventory = new SimulatedGpuInventory("node-a", new SimulatedGpuOptions { GpuCount = 2, MemoryMiB = GpuMiB }, "test");
        _ledger = new SliceLedger(inventory, _time, NullLogger<SliceLedger>.Instance);
    }

    private static BindRequest Request(string lease = "lease-1", long epoch = 1, int gpu = 0, long memoryMiB = 20480, int compute = 25, string kernel = "kernel-1") =>
        new(lease, epoch, kernel, gpu, memoryMiB, compute);

    [Fact]
    public void Bind_MigInstance_TheBindingsEnvironmentNamesTheMigUuidAndKeepsIt()
    {
        var result = _ledger.Bind(Request(memoryMiB: 9984, compute: 100) with { MigUuid = "MIG-a686709d-6dc2-542a-8851-0d2508448c10" });

        Assert.True(result.Succeeded);
        Assert.Equal("MIG-a686709d-6dc2-542a-8851-0d2508448c10", result.Binding.MigUuid);
        Assert.Equal("MIG-a686709d-6dc2-542a-8851-0d2508448c10", result.Binding.Environment["CUDA_VISIBLE_DEVICES"]);
        Assert.False(result.Binding.Environment.ContainsKey("CUDA_DEVICE_MEMORY_LIMIT"));
        Assert.Equal("MIG-a686709d-6dc2-542a-8851-0d2508448c10", Assert.Single(_ledger.Snapshot()).MigUuid);
    }

    [Fact]
    public void Bind_TwoMigInstancesOfOneGpu_EachGetsItsWholeInstance()
    {
        var first = _ledger.Bind(Request("lease-1", memoryMiB: 9984, compute: 100) with { MigUuid = "MIG-a686709d-6dc2-542a-8851-0d2508448c10" });
        var second = _ledger.Bind(Request("lease-2", memoryMiB: 9984, compute: 100, kernel: "kernel-2") with { MigUuid = "MIG-53864714-0a66-5df2-9007-9268e30d9a72" });

        Assert.True(first.Succeeded);
        Assert.True(second.Succeeded, second.Refusal?.Detail);
        Assert.Equal("MIG-53864714-0a66-5df2-9007-9268e30d9a72", second.Binding.Environment["CUDA_VISIBLE_DEVICES"]);
    }

    [Fact]
    public void Bind_MigInstanceAlreadyBoundToAnotherLease_IsRefused()
    {
        _ledger.Bind(Request("lease-1", memoryMiB: 9984, compute: 100) with { MigUuid = "MIG-a686709d-6dc2-542a-8851-0d2508448c10" });

        var second = _ledger.Bind(Request("lease-2", memoryMiB: 9984, compute: 100, kernel: "kernel-2") with { MigUuid = "MIG-a686709d-6dc2-542a-8851-0d2508448c10" });

        Assert.False(second.Succeeded);
        Assert.Equal(LedgerRefusalKind.LeaseConflict, second.Refusal.Kind);
        Assert.Contains("already bound to lease 'lease-1'", second.Refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_MigUuidNotAMigDeviceUuid_IsInvalidAndBindsNothing()
    {
        var result = _ledger.Bind(Request(memoryMiB: 9984, compute: 100) with { MigUuid = "GPU-513536b6-7d19-9063-b049-1e69664bb298" });

        Assert.False(result.Succeeded);
        Assert.Contains("migUuid must be a MIG device UUID", result.Refusal.Detail, StringComparison.Ordinal);
        Assert.Empty(_ledger.Snapshot());
    }

    [Fact]
    public void Bind_FreeGpu_ReturnsBindingStampedByClock()
    {
        var result = _ledger.Bind(Request());

        Assert.True(result.Succeeded);
        Assert.Equal("lease-1", result.Binding.LeaseId);
        Assert.Equal("kernel-1", result.Binding.KernelId);
        Assert.Equal(0, result.Binding.Gpu.Index);
        Assert.Equal(20480, result.Binding.MemoryMiB);
        Assert.Equal(25, result.Binding.ComputePercent);
        Assert.Equal(_time.GetUtcNow(), result.Binding.BoundAt);
        Assert.Single(_ledger.Snapshot());
    }

    [Fact]
    public void Bind_ConcurrentRequestsForOneGpu_NeverExceedsItsMemory()
    {
        // 64 leases of 10 GiB race for one 80 GiB GPU: exactly eight fit.
        var results = new LedgerResult[64];
        Parallel.For(0, results.Length, i => results[i] = _ledger.Bind(Request(lease: $"lease-{i}", memoryMiB: 10240, compute: 10)));

        Assert.Equal(8, results.Count(result => result.Succeeded));
        Assert.All(results.Where(result => !result.Succeeded), result => Assert.Equal(LedgerRefusalKind.InsufficientMemory, result.Refusal!.Kind));
        Assert.Equal(GpuMiB, _ledger.Snapshot().Where(binding => binding.Gpu.Index == 0).Sum(binding => binding.MemoryMiB));
    }

    [Fact]
    public void Bind_MoreThanFreeMemory_RefusedWithFreeMemoryInDetail()
    {
        Assert.True(_ledger.Bind(Request(lease: "big", memoryMiB: 61440, compute: 50)).Succeeded);

        var result = _ledger.Bind(Request(lease: "too-big", memoryMiB: 30720, compute: 10));

        Assert.False(result.Succeeded);
        Assert.Equal(LedgerRefusalKind.InsufficientMemory, result.Refusal.Kind);
        Assert.Contains("20480 MiB free", result.Refusal.Detail, StringComparison.Ordinal);
        Assert.Single(_ledger.Snapshot());
    }

    [Fact]
    public void Bind_OtherGpu_HasItsOwnCapacity()
    {
        Assert.True(_ledger.Bind(Request(lease: "whole-0", memoryMiB: GpuMiB, compute: 100)).Succeeded);

        Assert.True(_ledger.Bind(Request(lease: "whole-1", gpu: 1, memoryMiB: GpuMiB, compute: 100)).Succeeded);
    }

    [Fact]
    public void Bind_ComputeSharesAbove100Percent_RefusedInsufficientCompute()
    {
        Assert.True(_ledger.Bind(Request(lease: "a", memoryMiB: 1024, compute: 60)).Succeeded);

        var result = _ledger.Bind(Request(lease: "b", memoryMiB: 1024, compute: 50));

        Assert.False(result.Succeeded);
        Assert.Equal(LedgerRefusalKind.InsufficientCompute, result.Refusal.Kind);
        Assert.Contains("40%", result.Refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_SameLeaseSameEpochSameSlice_ReturnsExistingBindingWithoutCountingTwice()
    {
        var first = _ledger.Bind(Request(memoryMiB: 61440));
        _time.Advance(TimeSpan.FromMinutes(1));

        var again = _ledger.Bind(Request(memoryMiB: 61440));

        Assert.True(again.Succeeded);
        Assert.Same(first.Binding, again.Binding);
        Assert.Single(_ledger.Snapshot());
    }

    [Fact]
    public void Bind_SameLeaseSameEpochOtherSlice_RefusedConflict()
    {
        _ledger.Bind(Request(memoryMiB: 20480));

        var result = _ledger.Bind(Request(memoryMiB: 40960));

        Assert.False(result.Succeeded);
        Assert.Equal(LedgerRefusalKind.LeaseConflict, result.Refusal.Kind);
        Assert.Contains("higher epoch", result.Refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_LowerEpoch_RefusedStale()
    {
        _ledger.Bind(Request(epoch: 5));

        var result = _ledger.Bind(Request(epoch: 4));

        Assert.False(result.Succeeded);
        Assert.Equal(LedgerRefusalKind.StaleEpoch, result.Refusal.Kind);
        Assert.Equal(5, Assert.Single(_ledger.Snapshot()).Epoch);
    }

    [Fact]
    public void Bind_HigherEpochSameGpu_AdvancesEpochAndKeepsBoundAt()
    {
        var first = _ledger.Bind(Request(epoch: 1, memoryMiB: 61440));
        _time.Advance(TimeSpan.FromMinutes(1));

        // The slice's own memory does not count against its re-bind.
        var result = _ledger.Bind(Request(epoch: 2, memoryMiB: 61440));

        Assert.True(result.Succeeded);
        Assert.Equal(2, result.Binding.Epoch);
        Assert.Equal(first.Binding!.BoundAt, result.Binding.BoundAt);
        Assert.Equal(2, Assert.Single(_ledger.Snapshot()).Epoch);
    }

    [Fact]
    public void Bind_HigherEpochOtherGpu_RefusedConflict()
    {
        _ledger.Bind(Request(epoch: 1, gpu: 0));

        var result = _ledger.Bind(Request(epoch: 2, gpu: 1));

        Assert.False(result.Succeeded);
        Assert.Equal(LedgerRefusalKind.LeaseConflict, result.Refusal.Kind);
        Assert.Equal(0, Assert.Single(_ledger.Snapshot()).Gpu.Index);
    }

    [Theory]
    [InlineData("", 1, "kernel-1", 1024L, 50, "leaseId")]
    [InlineData("lease-1", 1, " ", 1024L, 50, "kernelId")]
    [InlineData("lease-1", -1, "kernel-1", 1024L, 50, "epoch")]
    [InlineData("lease-1", 1, "kernel-1", 0L, 50, "memoryMiB")]
    [InlineData("lease-1", 1, "kernel-1", -5L, 50, "memoryMiB")]
    [InlineData("lease-1", 1, "kernel-1", GpuMiB + 1, 50, "memoryMiB")]
    [InlineData("lease-1", 1, "kernel-1", 1024L, 0, "computePercent")]
    [InlineData("lease-1", 1, "kernel-1", 1024L, 101, "computePercent")]
    public void Bind_InvalidValue_RefusedNamingTheField(string lease, long epoch, string kernel, long memoryMiB, int compute, string field)
    {
        var result = _ledger.Bind(new BindRequest(lease, epoch, kernel, 0, memoryMiB, compute));

        Assert.False(result.Succeeded);
        Assert.Equal(LedgerRefusalKind.InvalidRequest, result.Refusal.Kind);
        Assert.Equal([field], result.Refusal.FieldErrors!.Keys);
        Assert.Empty(_ledger.Snapshot());
    }

    [Fact]
    public void Bind_NullStringsFromJson_RefusedNotThrown()
    {
        // System.Text.Json leaves missing constructor parameters null, whatever the nullable annotations say.
        var result = _ledger.Bind(new BindRequest(null!, 1, null!, 0, 1024, 50));

        Assert.False(result.Succeeded);
        Assert.Equal(["kernelId", "leaseId"], result.Refusal.FieldErrors!.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Bind_UnknownGpu_RefusedListingTheNodesGpus()
    {
        var result = _ledger.Bind(Request(gpu: 7));

        Assert.False(result.Succeeded);
        Assert.Equal(LedgerRefusalKind.UnknownGpu, result.Refusal.Kind);
        Assert.Contains("0, 1", result.Refusal.FieldErrors!["gpuIndex"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void Unbind_CurrentEpoch_RemovesBindingAndFreesItsMemory()
    {
        _ledger.Bind(Request(lease: "whole", epoch: 3, memoryMiB: GpuMiB, compute: 100));

        var result = _ledger.Unbind("whole", 3);

        Assert.True(result.Succeeded);
        Assert.Equal("whole", result.Binding.LeaseId);
        Assert.Empty(_ledger.Snapshot());
        Assert.True(_ledger.Bind(Request(lease: "next", memoryMiB: GpuMiB, compute: 100)).Succeeded);
    }

    [Fact]
    public void Unbind_HigherEpoch_Removes()
    {
        _ledger.Bind(Request(epoch: 3));

        Assert.True(_ledger.Unbind("lease-1", 4).Succeeded);
        Assert.Empty(_ledger.Snapshot());
    }

    [Fact]
    public void Unbind_StaleEpoch_RefusedAndBindingKept()
    {
        _ledger.Bind(Request(epoch: 3));

        var result = _ledger.Unbind("lease-1", 2);

        Assert.False(result.Succeeded);
        Assert.Equal(LedgerRefusalKind.StaleEpoch, result.Refusal.Kind);
        Assert.Single(_ledger.Snapshot());
    }

    [Fact]
    public void Unbind_UnknownLease_NotFound()
    {
        var result = _ledger.Unbind("never-bound", 1);

        Assert.False(result.Succeeded);
        Assert.Equal(LedgerRefusalKind.NotFound, result.Refusal.Kind);
    }

    [Fact]
    public void Snapshot_SeveralGpus_OrderedByGpuThenBoundAt()
    {
        _ledger.Bind(Request(lease: "gpu1", gpu: 1));
        _time.Advance(TimeSpan.FromSeconds(1));
        _ledger.Bind(Request(lease: "gpu0-late"));
        _time.Advance(TimeSpan.FromSeconds(1));
        _ledger.Bind(Request(lease: "gpu0-later"));

        Assert.Equal(["gpu0-late", "gpu0-later", "gpu1"], _ledger.Snapshot().Select(binding => binding.LeaseId));
    }

    [Fact]
    public void Bind_Slice_EnvironmentCarriesHamiLimits()
    {
        var binding = _ledger.Bind(Request(memoryMiB: 20480, compute: 25)).Binding!;

        Assert.Equal(binding.Gpu.Uuid, binding.Environment["CUDA_VISIBLE_DEVICES"]);
        Assert.Equal("20480m", binding.Environment["CUDA_DEVICE_MEMORY_LIMIT"]);
        Assert.Equal("25", binding.Environment["CUDA_DEVICE_SM_LIMIT"]);
        Assert.Equal("lease-1", binding.Environment["ATTACH_LEASE_ID"]);
    }
}
