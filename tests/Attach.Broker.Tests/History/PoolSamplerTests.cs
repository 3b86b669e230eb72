using Attach.Broker.History;
using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.History;

/// <summary>The sampler records what the pool holds, on the broker's clock, and counts each user's GPU time.</summary>
public sealed class PoolSamplerTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new(Epoch.AddHours(9));
    private readonly NodeRegistry _nodes;
    private readonly LeaseTable _leases;
    private readonly KernelRegistry _kernels;
    private readonly PoolHistory _history;
    private readonly PoolSampler _sampler;

    public PoolSamplerTests()
    {
        var broker = Options.Create(new BrokerOptions { IdleTimeout = TimeSpan.FromMinutes(5) });
        var history = Options.Create(new HistoryOptions { SampleInterval = Interval, Retention = TimeSpan.FromMinutes(1) });
        _nodes = new NodeRegistry(_time, broker);
        _leases = new LeaseTable(_nodes, _time);
        _kernels = new KernelRegistry(new FakeGpuBinder(), new RecordingEventPublisher(), _time, broker, NullLoggerFactory.Instance);
        _history = new PoolHistory(history);
        _sampler = new PoolSampler(_history, _nodes, _leases, _kernels, _time, history, NullLogger<PoolSampler>.Instance);
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80), Gpu(1, 80)]));
    }

    public void Dispose()
    {
        _sampler.Dispose();
        _kernels.Dispose();
    }

    [Fact]
    public void A_sample_counts_slices_memory_and_each_users_share_of_a_gpu()
    {
        _leases.Reserve("k-ada", "ada", new SliceRequest(20 * GiB, 25));
        _leases.Reserve("k-bob", "bob", new SliceRequest(40 * GiB, 50));

        var sample = _sampler.SampleOnce();

        Assert.Equal(2, sample.Gpus);
        Assert.Equal(160 * GiB, sample.MemoryTotalMiB);
        Assert.Equal(60 * GiB, sample.MemoryAllocatedMiB);
        Assert.Equal(2, sample.Slices);
        Assert.Equal(0.75, sample.GpusInUse, 6);
        Assert.Equal(0.25, sample.PerUser["ada"].GpusInUse, 6);
        Assert.Equal(1, sample.PerUser["bob"].Slices);
    }

    [Fact]
    public void Gpu_time_today_grows_by_the_time_between_samples_times_the_share_held()
    {
        _leases.Reserve("k-ada", "ada", new SliceRequest(20 * GiB, 25));

        _sampler.SampleOnce();
        _time.Advance(Interval);
        _sampler.SampleOnce();
        _time.Advance(Interval);
        _sampler.SampleOnce();

        var today = DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime);
        var usage = _history.UsageOn(today, "ada");
        Assert.Equal(20 * 0.25, usage.GpuSeconds, 6);
        Assert.Equal(20, usage.SliceSeconds, 6);
        Assert.Equal(0, _history.UsageOn(today, "bob").GpuSeconds);
    }

    [Fact]
    public async Task Attached_kernels_their_users_and_the_wait_of_a_new_attach_are_recorded_once()
    {
        var kernel = _kernels.GetOrAdd("k-ada", "ada")!;
        _kernels.GetOrAdd("k-bob", "bob");
        await kernel.EnsureAttachedAsync(new SliceRequest(20 * GiB, 25), "test", CancellationToken.None);

        var first = _sampler.SampleOnce();
        var second = _sampler.SampleOnce();

        Assert.Equal(KernelState.Attached, kernel.Status.State);
        Assert.Equal(1, first.KernelsAttached);
        Assert.Equal(2, first.Users);
        Assert.Equal(1, first.Attaches);
        Assert.Equal(kernel.Status.Attachment!.WaitSeconds, first.MaxWaitSeconds);
        Assert.Equal(0, second.Attaches);
        Assert.Null(second.MaxWaitSeconds);
    }

    [Fact]
    public async Task The_running_sampler_takes_a_sample_at_each_interval_of_the_brokers_clock()
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Event);
        await _sampler.StartAsync(cts.Token);
        await WaitForSamplesAsync(1, cts.Token);

        _time.Advance(Interval);
        await WaitForSamplesAsync(2, cts.Token);
        _time.Advance(Interval);
        await WaitForSamplesAsync(3, cts.Token);

        var samples = _history.Since(DateTimeOffset.MinValue);
        Assert.Equal([Epoch.AddHours(9), Epoch.AddHours(9) + Interval, Epoch.AddHours(9) + 2 * Interval], samples.Select(s => s.At));
        await _sampler.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void The_history_keeps_only_its_capacity_and_drops_the_oldest_first()
    {
        // Retention 1 min at one sample every 10 s: six samples.
        for (var i = 0; i < 9; i++)
        {
            _sampler.SampleOnce();
            _time.Advance(Interval);
        }

        var kept = _history.Since(DateTimeOffset.MinValue);
        Assert.Equal(6, _history.Capacity);
        Assert.Equal(6, kept.Count);
        Assert.Equal(Epoch.AddHours(9) + 3 * Interval, kept[0].At);
        Assert.Equal(Epoch.AddHours(9) + 8 * Interval, kept[^1].At);
    }

    private async Task WaitForSamplesAsync(int count, CancellationToken cancellationToken)
    {
        // The timer fires on the fake clock; the loop runs on the thread pool, so wait for its sample to land.
        while (_history.Since(DateTimeOffset.MinValue).Count < count)
        {
            await Task.Delay(5, cancellationToken);
        }
    }
}
