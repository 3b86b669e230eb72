using System.Diagnostics;
using Attach.Simulation.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Simulation.Throughput;

/// <summary>
/// The scheduler under a full pool: 1,000 GPUs (125 nodes × 8 × 80 GiB) and 10,000 kernels asking for mixed slices,
/// far more than fit, so most wait. Every kernel submits; then, over and over, a random placed kernel releases (which
/// places waiters) and submits again at the back. Each submit and each release is one decision; all on one thread.
/// </summary>
internal static class ThroughputBenchmark
{
    private static readonly (long MemoryMiB, int Compute)[] Slices = [(10 * 1024, 12), (20 * 1024, 25), (40 * 1024, 50), (80 * 1024, 100)];

    public static ThroughputResult Run(Func<PoolShape, TimeProvider, ISimulatedScheduler> schedulerFactory, int gpus = 1000, int kernels = 10_000, long decisions = 200_000, TimeSpan? budget = null, int seed = 42)
    {
        ArgumentNullException.ThrowIfNull(schedulerFactory);
        var limit = budget ?? TimeSpan.FromSeconds(30);
        var random = new Random(seed);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
        var scheduler = schedulerFactory(new PoolShape(gpus, 80 * 1024), clock);
        var ids = Enumerable.Range(0, kernels).Select(i => $"kernel-{i:D5}").ToArray();
        var users = Enumerable.Range(0, 200).Select(i => $"user{i:D3}").ToArray();
        var slice = ids.Select(_ => Slices[random.Next(Slices.Length)]).ToArray();
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
        var started = Stopwatch.GetTimestamp();
        for (var k = 0; k < kernels; k++)
        {
            done++;
            if (scheduler.Submit(ids[k], users[k % users.Length], slice[k].MemoryMiB, slice[k].Compute))
            {
                placements++;
                MarkHeld(k);
            }
        }

        var initialPlaced = held.Count;
        while (done < decisions && Stopwatch.GetElapsedTime(started) < limit)
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            var k = held[random.Next(held.Count)];
            Unhold(k);
            done++;
            foreach (var placed in scheduler.Release(ids[k]))
            {
                placements++;
                MarkHeld(index[placed]);
            }

            done++;
            if (scheduler.Submit(ids[k], users[k % users.Length], slice[k].MemoryMiB, slice[k].Compute))
            {
                placements++;
                MarkHeld(k);
            }
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var (rss, peak) = ProcessMemory.Read();
        return new ThroughputResult(scheduler.Name, gpus, kernels, initialPlaced, done, placements, seconds, done / seconds, kernels - held.Count, rss, peak, GC.GetTotalMemory(forceFullCollection: false));
    }
}
