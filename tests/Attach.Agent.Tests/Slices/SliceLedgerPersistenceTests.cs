using System.Text.Json;
using Attach.Agent.Gpu;
using Attach.Agent.Slices;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Agent.Tests.Slices;

/// <summary>The ledger over a real state directory: what an agent restart finds.</summary>
public sealed class SliceLedgerPersistenceTests : IDisposable
{
    private const long GpuMiB = 81920;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly SimulatedGpuInventory _inventory = new("node-a", new SimulatedGpuOptions { GpuCount = 2, MemoryMiB = GpuMiB }, "test");
    private readonly string _directory = Directory.CreateTempSubdirectory("attach-ledger-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string LedgerPath => Path.Combine(_directory, LedgerFile.FileName);

    private SliceLedger Start(ILogger<SliceLedger>? logger = null) =>
        new(_inventory, _time, new LedgerFile(_directory, _time, NullLogger<LedgerFile>.Instance), logger ?? NullLogger<SliceLedger>.Instance);

    private static BindRequest Request(string lease = "lease-1", long epoch = 1, int gpu = 0, long memoryMiB = 20480, int compute = 25, string owner = "ada") =>
        new(lease, epoch, $"kernel-of-{lease}", gpu, memoryMiB, compute, owner);

    [Fact]
    public void Restart_RestoresEveryBindingWithItsOwnerEpochAndEnvironment()
    {
        var before = Start();
        Assert.True(before.Bind(Request(lease: "lease-1", epoch: 3)).Succeeded);
        Assert.True(before.Bind(Request(lease: "lease-2", gpu: 1, memoryMiB: GpuMiB, compute: 100, owner: "grace")).Succeeded);

        var logger = new RecordingLogger<SliceLedger>();
        var after = Start(logger);

        Assert.Equal(before.Snapshot(), after.Snapshot(), BindingComparer.Instance);
        Assert.Equal(["ada", "grace"], after.Snapshot().Select(binding => binding.Owner));
        Assert.Contains(logger.AtOrAbove(LogLevel.Information), entry => entry.Message.Contains("2 binding(s)", StringComparison.Ordinal));
        Assert.Contains(logger.AtOrAbove(LogLevel.Information), entry => entry.Message.Contains("lease-2", StringComparison.Ordinal) && entry.Message.Contains("grace", StringComparison.Ordinal));
    }

    [Fact]
    public void Restart_RestoredBindingsStillCountAgainstTheGpu()
    {
        Start().Bind(Request(lease: "whole", memoryMiB: GpuMiB, compute: 100));

        var result = Start().Bind(Request(lease: "another", memoryMiB: 1024, compute: 10));

        Assert.False(result.Succeeded);
        Assert.Equal(LedgerRefusalKind.InsufficientMemory, result.Refusal.Kind);
    }

    [Fact]
    public void Restart_EpochFencingSurvives()
    {
        Start().Bind(Request(epoch: 7));
        var after = Start();

        var staleBind = after.Bind(Request(epoch: 6));
        var staleUnbind = after.Unbind("lease-1", 6);

        Assert.Equal(LedgerRefusalKind.StaleEpoch, staleBind.Refusal!.Kind);
        Assert.Equal(LedgerRefusalKind.StaleEpoch, staleUnbind.Refusal!.Kind);
        Assert.Equal(7, Assert.Single(after.Snapshot()).Epoch);
    }

    [Fact]
    public void Restart_AfterUnbind_TheLeaseStaysGoneAndALateBindOfItIsStale()
    {
        var before = Start();
        before.Bind(Request(epoch: 4));
        Assert.True(before.Unbind("lease-1", 4).Succeeded);

        var after = Start();
        var late = after.Bind(Request(epoch: 4));

        Assert.Equal(LedgerRefusalKind.StaleEpoch, late.Refusal!.Kind);
        Assert.Contains("unbound at epoch 4", late.Refusal.Detail, StringComparison.Ordinal);
        Assert.Empty(after.Snapshot());
        Assert.Equal(LedgerRefusalKind.NotFound, after.Unbind("lease-1", 4).Refusal!.Kind);
    }

    [Fact]
    public void Restart_AfterEpochAdvance_KeepsTheNewEpoch()
    {
        var before = Start();
        before.Bind(Request(epoch: 1, memoryMiB: 10240));
        before.Bind(Request(epoch: 2, memoryMiB: 20480));

        var restored = Assert.Single(Start().Snapshot());

        Assert.Equal((2L, 20480L), (restored.Epoch, restored.MemoryMiB));
    }

    [Fact]
    public void Start_WithoutAFile_StartsEmptyAndSaysSo()
    {
        var logger = new RecordingLogger<SliceLedger>();

        var ledger = Start(logger);

        Assert.Empty(ledger.Snapshot());
        Assert.Contains("No slice ledger", Assert.Single(logger.AtOrAbove(LogLevel.Information)).Message, StringComparison.Ordinal);
        Assert.False(File.Exists(LedgerPath));
    }

    [Fact]
    public void Start_LeftoverTempFileFromAnInterruptedSave_IsIgnoredAndRemoved()
    {
        Start().Bind(Request(lease: "saved"));
        // A save that crashed before its rename: complete JSON or not, it is not the ledger.
        File.WriteAllText(LedgerPath + ".tmp", "{\"version\": 1, \"bindings\": [], \"ret");

        var ledger = Start();

        Assert.Equal("saved", Assert.Single(ledger.Snapshot()).LeaseId);
        Assert.False(File.Exists(LedgerPath + ".tmp"));
    }

    [Fact]
    public void Save_LeavesOnlyTheLedgerInTheDirectory()
    {
        var ledger = Start();
        for (var i = 0; i < 5; i++)
        {
            ledger.Bind(Request(lease: $"lease-{i}", memoryMiB: 1024, compute: 5));
        }

        ledger.Unbind("lease-0", 1);

        Assert.Equal([LedgerFile.FileName], Directory.GetFiles(_directory).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("{\"version\": 1, \"bindings\": [")]
    [InlineData("not json at all")]
    [InlineData("null")]
    [InlineData("{\"version\": 99, \"bindings\": [], \"retired\": []}")]
    [InlineData("{\"version\": 1, \"retired\": []}")]
    public void Start_CorruptLedger_RefusesKeepingACopyAndTheOriginal(string content)
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(LedgerPath, content);

        var error = Assert.Throws<LedgerCorruptException>(() => Start());

        var copy = Path.Combine(_directory, $"{LedgerFile.FileName}.corrupt-20260301T090000Z");
        Assert.Equal(content, File.ReadAllText(copy));
        Assert.Equal(content, File.ReadAllText(LedgerPath));
        Assert.Contains(LedgerPath, error.Message, StringComparison.Ordinal);
        Assert.Contains(copy, error.Message, StringComparison.Ordinal);
        Assert.Contains("does not start", error.Message, StringComparison.Ordinal);
        // A second start refuses as well: the bindings are never silently dropped.
        Assert.Throws<LedgerCorruptException>(() => Start());
    }

    [Fact]
    public void Start_LedgerBindingTheSameLeaseTwice_IsCorrupt()
    {
        var binding = Start().Bind(Request(lease: "lease-1")).Binding!;
        File.WriteAllText(LedgerPath, JsonSerializer.Serialize(new LedgerDocument(LedgerDocument.CurrentVersion, [binding, binding], []), JsonSerializerOptions.Web));

        var error = Assert.Throws<LedgerCorruptException>(() => Start());

        Assert.Contains("bound twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_ConcurrentFromManyThreads_TheSavedLedgerMatchesMemory()
    {
        var ledger = Start();

        // 64 leases of 10 GiB race for two 80 GiB GPUs; unbinds interleave: what is saved is what is bound.
        Parallel.For(0, 64, i =>
        {
            var result = ledger.Bind(Request(lease: $"lease-{i}", gpu: i % 2, memoryMiB: 10240, compute: 10));
            if (result.Succeeded && i % 5 == 0)
            {
                Assert.True(ledger.Unbind(result.Binding.LeaseId, result.Binding.Epoch).Succeeded);
            }
        });

        var restored = Start().Snapshot();
        Assert.Equal(ledger.Snapshot(), restored, BindingComparer.Instance);
        Assert.All(restored.GroupBy(binding => binding.Gpu.Index), gpu => Assert.True(gpu.Sum(binding => binding.MemoryMiB) <= GpuMiB));
    }

    [Fact]
    public void Bind_WhenTheLedgerCannotBeSaved_FailsAndBindsNothing()
    {
        var ledger = Start();
        ledger.Bind(Request(lease: "before"));
        // The state directory becomes a file: the next save cannot create its temporary file.
        Directory.Delete(_directory, recursive: true);
        File.WriteAllText(_directory, "");
        try
        {
            Assert.ThrowsAny<IOException>(() => ledger.Bind(Request(lease: "after")));
            Assert.ThrowsAny<IOException>(() => ledger.Unbind("before", 1));

            Assert.Equal(["before"], ledger.Snapshot().Select(binding => binding.LeaseId));
        }
        finally
        {
            File.Delete(_directory);
            Directory.CreateDirectory(_directory);
        }
    }

    [Fact]
    public void Restart_BindingOnAGpuThatChanged_IsKeptWithAWarning()
    {
        Start().Bind(Request(gpu: 1));
        var logger = new RecordingLogger<SliceLedger>();
        var smaller = new SimulatedGpuInventory("node-a", new SimulatedGpuOptions { GpuCount = 1, MemoryMiB = GpuMiB }, "test");

        var ledger = new SliceLedger(smaller, _time, new LedgerFile(_directory, _time, NullLogger<LedgerFile>.Instance), logger);

        Assert.Equal(1, Assert.Single(ledger.Snapshot()).Gpu.Index);
        Assert.Contains("GPU 1", Assert.Single(logger.AtOrAbove(LogLevel.Warning)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Restart_OverAnInMemoryStore_BehavesLikeADirectory()
    {
        var store = new InMemoryLedgerStore();
        new SliceLedger(_inventory, _time, store, NullLogger<SliceLedger>.Instance).Bind(Request());

        var after = new SliceLedger(_inventory, _time, store, NullLogger<SliceLedger>.Instance);

        Assert.Equal("lease-1", Assert.Single(after.Snapshot()).LeaseId);
        Assert.Equal(1, store.Saves);
    }

    /// <summary>Bindings compared by value (the environment is a dictionary, which records compare by reference).</summary>
    private sealed class BindingComparer : IEqualityComparer<BindingInfo>
    {
        public static readonly BindingComparer Instance = new();

        public bool Equals(BindingInfo? x, BindingInfo? y) =>
            x is not null && y is not null
            && x with { Environment = y.Environment } == y
            && x.Environment.OrderBy(e => e.Key, StringComparer.Ordinal).SequenceEqual(y.Environment.OrderBy(e => e.Key, StringComparer.Ordinal));

        public int GetHashCode(BindingInfo obj) => StringComparer.Ordinal.GetHashCode(obj.LeaseId);
    }
}
