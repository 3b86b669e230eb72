using System.Security.Claims;
using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Contracts.Kernels;
using Attach.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Apis;

/// <summary>
/// <c>/api/v1/queue</c> and <c>/api/v1/usage</c>: who waits for a GPU, and GPU-seconds used today. A user sees and
/// cancels only their own waiters and usage; the service and the configured admins see everyone's.
/// </summary>
internal static class QueueApi
{
    public static IEndpointRouteBuilder MapQueueApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/queue", List).WithTags("Queue");
        app.MapDelete("/api/v1/queue/{kernelId}", Cancel).WithTags("Queue");
        app.MapGet("/api/v1/usage", Usage).WithTags("Queue");
        return app;
    }

    internal static Ok<QueueView> List(LeaseTable leases, IOptions<SchedulingOptions> scheduling, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var name = KernelsApi.UserOf(user);
        var all = leases.Scheduler.Waiters();
        var seesAll = SeesAll(name, scheduling.Value);
        return TypedResults.Ok(new QueueView(all.Count, [.. all.Where(w => seesAll || w.User == name)]));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> Cancel(
        string kernelId, KernelRegistry kernels, ClaimsPrincipal user, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        if (!KernelIds.IsValid(kernelId))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["kernelId"] = ["use the id Jupyter gave the kernel (letters, digits, '-', '_' or '.', at most 128)"],
            });
        }

        var name = KernelsApi.UserOf(user);
        // Own waiters only: another user's kernel is not found, as everywhere else.
        if (kernels.Find(kernelId, name) is not { } kernel || (kernel.Owner != name && name != AttachClaims.ServiceUser))
        {
            return TypedResults.Problem($"No kernel {kernelId} of yours is known to the broker.", statusCode: StatusCodes.Status404NotFound, title: "Kernel not found");
        }

        if (!await kernel.CancelQueuedAsync($"cancelled by {name}"))
        {
            return TypedResults.Problem(
                $"Kernel {kernelId} is not waiting in the queue (it is {kernel.Status.State}); to give a GPU back, release it instead (POST /api/v1/kernels/{kernelId}/release).",
                statusCode: StatusCodes.Status409Conflict,
                title: "Not queued");
        }

        Log.QueueCancelledByUser(loggerFactory.CreateLogger(typeof(QueueApi)), kernelId, name);
        return TypedResults.NoContent();
    }

    internal static Ok<UsageView> Usage(LeaseTable leases, IOptions<SchedulingOptions> scheduling, TimeProvider timeProvider, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var name = KernelsApi.UserOf(user);
        var seesAll = SeesAll(name, scheduling.Value);
        var usage = leases.Scheduler.UsageToday();
        var rows = seesAll
            ? usage.OrderByDescending(u => u.Value).Select(u => new UserUsage(u.Key, Math.Round(u.Value, 3)))
            : [new UserUsage(name, Math.Round(usage.GetValueOrDefault(name), 3))];
        return TypedResults.Ok(new UsageView(DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime), [.. rows]));
    }

    private static bool SeesAll(string user, SchedulingOptions scheduling) =>
        user == AttachClaims.ServiceUser || scheduling.Admins.Contains(user, StringComparer.Ordinal);
}

/// <summary>The queue as one caller may see it.</summary>
/// <param name="Length">How many requests wait in all (everyone's).</param>
/// <param name="Waiters">The waiters the caller may see, in the order they will be served.</param>
internal sealed record QueueView(int Length, IReadOnlyList<WaiterInfo> Waiters);

/// <summary>GPU-seconds per user today (UTC); a slice counts by its share of its GPU's memory.</summary>
internal sealed record UsageView(DateOnly Day, IReadOnlyList<UserUsage> Users);

/// <summary>One user's GPU-seconds today.</summary>
internal sealed record UserUsage(string User, double GpuSeconds);
