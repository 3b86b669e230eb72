using Microsoft.Extensions.Options;

namespace Attach.Broker.History;

/// <summary>
/// The last <see cref="HistoryOptions.Retention"/> of pool samples in a fixed-size ring (the oldest is overwritten),
/// and each user's GPU time per UTC day, counted from the same samples. Memory stays bounded: the ring by its
/// capacity, the ledger by keeping only today and yesterday.
/// </summary>
internal sealed class PoolHistory(IOptions<HistoryOptions> options)
{
    private readonly Lock _lock = new();
    private readonly PoolSample?[] _ring = new PoolSample?[options.Value.Capacity];
    private readonly Dictionary<(DateOnly Day, string User), UserUsage> _usage = [];
    private int _next;
    private int _count;

    public int Capacity => _ring.Length;

    public void Add(PoolSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var day = DateOnly.FromDateTime(sample.At.UtcDateTime);
        lock (_lock)
        {
            _ring[_next] = sample;
            _next = (_next + 1) % _ring.Length;
            _count = Math.Min(_count + 1, _ring.Length);
            foreach (var (user, part) in sample.PerUser)
            {
                var key = (day, user);
                var before = _usage.GetValueOrDefault(key, new UserUsage(0, 0));
                _usage[key] = new UserUsage(
                    before.GpuSeconds + part.GpusInUse * sample.ElapsedSeconds,
                    before.SliceSeconds + part.Slices * sample.ElapsedSeconds);
            }

            foreach (var old in _usage.Keys.Where(k => k.Day < day.AddDays(-1)).ToList())
            {
                _usage.Remove(old);
            }
        }
    }

    /// <summary>The samples taken at or after <paramref name="from"/>, oldest first.</summary>
    public IReadOnlyList<PoolSample> Since(DateTimeOffset from)
    {
        lock (_lock)
        {
            var result = new List<PoolSample>(_count);
            for (var i = 0; i < _count; i++)
            {
                var sample = _ring[(_next - _count + i + _ring.Length) % _ring.Length]!;
                if (sample.At >= from)
                {
                    result.Add(sample);
                }
            }

            return result;
        }
    }

    /// <summary>What <paramref name="user"/> held on <paramref name="day"/> (UTC), as counted so far.</summary>
    public UserUsage UsageOn(DateOnly day, string user)
    {
        lock (_lock)
        {
            return _usage.GetValueOrDefault((day, user), new UserUsage(0, 0));
        }
    }
}

/// <summary>GPU time one user held: in whole-GPU seconds (a slice counts its share of the GPU) and in slice-seconds.</summary>
internal sealed record UserUsage(double GpuSeconds, double SliceSeconds);
