using System.Diagnostics;
using Attach.Simulation.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Simulation.Throughput;

/// <summary>
/// The scheduler with 1,000 GPUs (125 nodes × 8 × 80 GiB) and 10,000 kernels. Every kernel submits; then, over and
/// over, a random placed kernel releases (which places waiters) and submits again. Each submit and each release is
/// one decision; all on one thread. <see cref="Contended"/>: mixed slices, far more than fit, so most kernels wait and
/// every release runs the queue. <see cref="Uncontended"/>: 8 GiB slices, exactly as many as fit, so nothing waits
/// and every submit is a placement.
/// </summary>
internal static class ThroughputBenchmark
{
    public static readonly (long MemoryMiB, int Compute)[] Contended = [(10 * 1024, 12), (20 * 1024, 25), (40 * 1024, 50), (80 * 1024, 100)];

    public static readonly (long MemoryMiB, int Compute)[] Uncontended = [(8 * 1024, 10)];

    public static ThroughputResult Run(Func<PoolShape, TimeProvider, ISimulatedScheduler> schedulerFactory, (long MemoryMiB, int Compute)[] slices, int gpus = 1000, int kernels = 10_000, long decisions = 200_000, TimeSpan? budget = null, int seed = 42)
    {
        ArgumentNullException.ThrowIfNull(schedulerFactory);
        ArgumentNullException.ThrowIfNull(slices);
        var limit = budget ?? TimeSpan.FromSeconds(30);
        var random = new Random(seed);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
        var scheduler = schedulerFactory(new PoolShape(gpus, 80 * 1024), clock);
        var ids = Enumerable.Range(0, kernels).Select(i => $"kernel-{i:D5}").ToArray();
        var users = Enumerable.Range(0, 200).Select(i => $"user{i:D3}").ToArray();
        var slice = ids.Select(_ => slices[random.Next(slices.Length)]).ToArray();
        var held = new List<int>(kernels);
        var heldAt = new int[kernels];
        Array.Fill(heldAt, -1);
        var index = ids.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i, StringComparer.Ordinal);

        void MarkHeld(int k)
        {
            heldAt[k] = held.Count;
            held.Add(k);
        }

        void Unhold(int k)
        {
            var at = heldAt[k];
            var last = held[^1];
            held[at] = last;
            heldAt[last] = at;
            held.RemoveAt(held.Count - 1);
            heldAt[k] = -1;
        }

        long done = 0, placements = 0;
        var placedNow = new List<string>();
        void TakePlaced()
        {
            foreach (var placed in placedNow)
            {
                placements++;
                MarkHeld(index[placed]);
            }

            placedNow.Clear();
        }

        var started = Stopwatch.GetTimestamp();
        for (var k = 0; k < kernels; k++)
        {
            done++;
            if (scheduler.Submit(ids[k], users[k % users.Length], slice[k].MemoryMiB, slice[k].Compute, placedNow))
            {
                placements++;
                MarkHeld(k);
            }

            TakePlaced();
        }

        var initialPlaced = held.Count;
        long submits = 0, releases = 0, submitTicks = 0, releaseTicks = 0;
        while (done < decisions && Stopwatch.GetElapsedTime(started) < limit)
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            var k = held[random.Next(held.Count)];
            Unhold(k);
            done++;
            var t0 = Stopwatch.GetTimestamp();
            scheduler.Release(ids[k], placedNow);
            var t1 = Stopwatch.GetTimestamp();
            TakePlaced();
            done++;
            var t2 = Stopwatch.GetTimestamp();
            var placedAtOnce = scheduler.Submit(ids[k], users[k % users.Length], slice[k].MemoryMiB, slice[k].Compute, placedNow);
            submitTicks += Stopwatch.GetTimestamp() - t2;
            releaseTicks += t1 - t0;
            submits++;
            releases++;
            if (placedAtOnce)
            {
                placements++;
                MarkHeld(k);
            }

            TakePlaced();
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var (rss, peak) = ProcessMemory.Read();
        return new ThroughputResult(scheduler.Name, slices.Length > 1 ? "contended: mixed 10/20/40/80 GiB slices, most kernels wait" : "uncontended: 8 GiB slices, all fit, nothing waits", gpus, kernels, initialPlaced, done, placements, seconds, done / seconds,
            submitTicks * 1e6 / Stopwatch.Frequency / submits, releaseTicks * 1e6 / Stopwatch.Frequency / releases, kernels - held.Count, rss, peak, GC.GetTotalMemory(forceFullCollection: false));
    }
}
