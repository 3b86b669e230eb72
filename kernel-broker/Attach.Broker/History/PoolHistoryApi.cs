using System.Security.Claims;
using Attach.Broker.Apis;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Attach.Broker.History;

/// <summary>
/// <c>GET /api/v1/pool/history?hours=6</c>: the pool's occupancy over time, pool-wide for everyone, and the caller's
/// own slices and GPU time today. Nobody sees another user's share.
/// </summary>
internal static class PoolHistoryApi
{
    public static IEndpointRouteBuilder MapPoolHistoryApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/pool/history", Get).WithTags("Pool");
        return app;
    }

    internal static Results<Ok<PoolHistoryView>, ValidationProblem> Get(
        double? hours, PoolHistory history, IOptions<HistoryOptions> options, TimeProvider timeProvider, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var retention = options.Value.Retention;
        var span = hours ?? 6;
        if (double.IsNaN(span) || span <= 0 || span > retention.TotalHours)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["hours"] = [$"ask for more than 0 and at most {retention.TotalHours:0.##} hours (Broker:History:Retention)"],
            });
        }

        var name = KernelsApi.UserOf(user);
        var now = timeProvider.GetUtcNow();
        var from = now - TimeSpan.FromHours(span);
        var samples = history.Since(from);
        var points = samples.Select(s => new PoolHistoryPoint(
            s.At,
            s.Gpus,
            s.MemoryTotalMiB,
            s.MemoryAllocatedMiB,
            s.Slices,
            Math.Round(s.GpusInUse, 4),
            s.KernelsAttached,
            s.KernelsQueued,
            s.Users,
            s.Attaches,
            s.MaxWaitSeconds,
            s.PerUser.GetValueOrDefault(name)?.Slices ?? 0,
            Math.Round(s.PerUser.GetValueOrDefault(name)?.GpusInUse ?? 0, 4))).ToList();
        var used = samples.Sum(s => s.GpusInUse * s.ElapsedSeconds) / 3600;
        var dedicated = samples.Sum(s => s.Users * s.ElapsedSeconds) / 3600;
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var usage = history.UsageOn(today, name);
        return TypedResults.Ok(new PoolHistoryView(
            from,
            now,
            options.Value.SampleInterval.TotalSeconds,
            points,
            new PoolHistoryTotals(Math.Round(used, 4), Math.Round(dedicated, 4), Math.Round(dedicated - used, 4)),
            new UsageToday(name, today, Math.Round(usage.GpuSeconds, 1), Math.Round(usage.SliceSeconds, 1))));
    }
}

/// <summary>The answer of <c>GET /api/v1/pool/history</c>.</summary>
/// <param name="From">Start of the window.</param>
/// <param name="To">End of the window (now).</param>
/// <param name="IntervalSeconds">Time between samples.</param>
/// <param name="Points">The samples in the window, oldest first.</param>
/// <param name="Totals">GPU-hours over the window.</param>
/// <param name="You">The caller's GPU time today (UTC).</param>
internal sealed record PoolHistoryView(
    DateTimeOffset From, DateTimeOffset To, double IntervalSeconds, IReadOnlyList<PoolHistoryPoint> Points, PoolHistoryTotals Totals, UsageToday You);

/// <summary>One sample: pool-wide figures, and the caller's own slices (<paramref name="YourSlices"/>, <paramref name="YourGpusInUse"/>).</summary>
internal sealed record PoolHistoryPoint(
    DateTimeOffset At,
    int Gpus,
    long MemoryTotalMiB,
    long MemoryAllocatedMiB,
    int Slices,
    double GpusInUse,
    int KernelsAttached,
    int KernelsQueued,
    int Users,
    int Attaches,
    double? MaxWaitSeconds,
    int YourSlices,
    double YourGpusInUse);

/// <summary>
/// GPU-hours the pool's slices used in the window, the GPU-hours a one-GPU-per-user pool would have held (one GPU for
/// every user with a kernel, all the time), and the difference.
/// </summary>
internal sealed record PoolHistoryTotals(double GpuHoursUsed, double DedicatedGpuHours, double GpuHoursSaved);

/// <summary>One user's GPU time on one UTC day, counted from the samples.</summary>
internal sealed record UsageToday(string User, DateOnly Day, double GpuSeconds, double SliceSeconds);
