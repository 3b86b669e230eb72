using System.Security.Claims;
using Attach.Broker.Detection;
using Attach.Broker.Kernels;
using Attach.Broker.Persistence;
using Attach.Broker.Pool;
using Attach.Broker.Scheduling;
using Attach.Contracts.Kernels;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Apis;

/// <summary><c>/api/v1/kernels</c>: what the gateway asks per cell, and what users see of their kernels.</summary>
internal static class KernelsApi
{
    public static IEndpointRouteBuilder MapKernelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/kernels").WithTags("Kernels");
        api.MapGet("/", List);
        api.MapGet("/{kernelId}", Get);
        api.MapPut("/{kernelId}", Register);
        api.MapPost("/{kernelId}/executions", Execute);
        api.MapPost("/reports", Reports);
        app.MapGet("/api/v1/detection/rules", Rules).WithTags("Kernels");
        api.MapPost("/{kernelId}/activity", Activity);
        api.MapPost("/{kernelId}/release", Release);
        api.MapPost("/{kernelId}/runtime-attach", RuntimeAttach);
        api.MapPut("/{kernelId}/slice-preference", SetSlicePreference);
        api.MapDelete("/{kernelId}", Forget);
        return app;
    }

    internal static Ok<KernelStatus[]> List(KernelRegistry kernels, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        TypedResults.Ok(kernels.List(UserOf(user)).Select(k => k.Status).ToArray());

    internal static Results<Ok<KernelStatus>, ProblemHttpResult, ValidationProblem> Get(
        string kernelId, KernelRegistry kernels, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (Invalid(kernelId) is { } invalid)
        {
            return invalid;
        }

        return kernels.Find(kernelId, UserOf(user)) is { } kernel
            ? TypedResults.Ok(kernel.Status)
            : NotFound(kernelId);
    }

    /// <summary>
    /// Makes a session the caller's before any process of it asks for a GPU (<c>attach run</c> does this), so a
    /// later shim request, which arrives from an agent knowing only a uid, is filed under this user.
    /// </summary>
    internal static Results<Ok<KernelStatus>, ProblemHttpResult, ValidationProblem> Register(
        string kernelId, KernelRegistry kernels, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (Invalid(kernelId) is { } invalid)
        {
            return invalid;
        }

        return kernels.GetOrAdd(kernelId, UserOf(user)) is { } kernel
            ? TypedResults.Ok(kernel.Status)
            : NotFound(kernelId);
    }

    /// <summary>
    /// Classifies the cell; when it needs a GPU, answers only once the slice is bound (the gateway holds the cell until
    /// then) or the attach failed. With <c>Accept: application/x-ndjson</c> the answer streams
    /// <see cref="ExecutionUpdate"/> lines while the kernel waits in the queue (<see cref="ExecutionStream"/>). A client
    /// that goes away while the kernel is queued takes it out of the queue.
    /// </summary>
    internal static async Task<Results<Ok<ExecutionDecision>, ExecutionStream, ProblemHttpResult, ValidationProblem>> Execute(
        string kernelId,
        ExecutionRequest request,
        KernelRegistry kernels,
        GpuWorkDetector detector,
        IOptions<BrokerOptions> options,
        IOptions<SchedulingOptions> scheduling,
        ClaimsPrincipal user,
        HttpContext httpContext,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        if (Invalid(kernelId) is { } invalid)
        {
            return invalid;
        }

        if (request is null || string.IsNullOrEmpty(request.MsgId) || request.Code is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["body"] = ["send {\"msgId\": \"<execute_request header.msg_id>\", \"code\": \"<cell code>\"}"],
            });
        }

        if (kernels.GetOrAdd(kernelId, UserOf(user)) is not { } kernel)
        {
            return NotFound(kernelId);
        }

        var logger = loggerFactory.CreateLogger(typeof(KernelsApi));
        var detection = detector.Classify(request.Code);
        var directive = SliceDirective.Find(request.Code);
        if (!detection.NeedsGpu && directive is not null)
        {
            // "# attach: mem=20G" is an explicit request for a GPU even though comments are not classified.
            detection = new Detection.Detection(true, "attach-directive");
        }

        Log.Classified(logger, kernelId, request.MsgId, detection.NeedsGpu ? "GPU work" : "CPU only", detection.Rule);
        if (!detection.NeedsGpu)
        {
            // Nothing to wait for, so nothing to stream: one plain JSON answer (the gateway accepts application/json
            // too), which it reads whole, instead of a stream it must read to its end for the connection's sake.
            return TypedResults.Ok(new ExecutionDecision(false, detection.Rule, kernel.Status.Attachment, false, null));
        }

        var (slice, error) = SliceChoice.For(directive, kernel.Preference, options.Value, scheduling.Value);
        if (error is not null)
        {
            return TypedResults.Ok(new ExecutionDecision(true, detection.Rule, null, false, error));
        }

        if (WantsStream(httpContext))
        {
            return new ExecutionStream(kernel, slice, detection.Rule, logger);
        }

        AttachOutcome outcome;
        try
        {
            outcome = await kernel.EnsureAttachedAsync(slice, detection.Rule, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The gateway cancels the request when the user interrupts the held cell.
            if (await kernel.CancelQueuedAsync("the cell was interrupted"))
            {
                Log.QueuedRequestAbandoned(logger, kernel.KernelId, kernel.Owner);
            }

            throw;
        }

        return TypedResults.Ok(new ExecutionDecision(true, detection.Rule, outcome.Attachment, outcome.NewlyAttached, outcome.Error));
    }

    /// <summary>
    /// What the gateway saw on the caller's kernel channels, in order (<see cref="KernelReportBatch"/>): busy/idle
    /// goes to each kernel's idle policy as <see cref="Activity"/> does, and each cell the gateway sent on without
    /// waiting (its copy of <see cref="Rules"/> showed no GPU evidence) is classified again here, so the kernel is
    /// known and counted like any other. Nothing is attached from a report: if the broker's rules changed since the
    /// gateway fetched them and now say GPU, that is logged, and the process shim's signal attaches the cell when it
    /// reaches CUDA. The batch is checked whole before any of it is applied.
    /// </summary>
    internal static Results<NoContent, ProblemHttpResult, ValidationProblem> Reports(
        KernelReportBatch batch,
        KernelRegistry kernels,
        GpuWorkDetector detector,
        ClaimsPrincipal user,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        if (batch?.Reports is not { Count: > 0 and <= KernelReportBatch.MaxReports } reports)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["reports"] = [$"send between 1 and {KernelReportBatch.MaxReports} reports, oldest first"],
            });
        }

        for (var i = 0; i < reports.Count; i++)
        {
            var report = reports[i];
            if (report is null || !KernelIds.IsValid(report.KernelId))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [$"reports[{i}].kernelId"] = ["use the id Jupyter gave the kernel"] });
            }

            var valid = (report.Activity, report.Forwarded) switch
            {
                ({ } activity, null) => Enum.IsDefined(activity.Activity),
                (null, { } forwarded) => !string.IsNullOrEmpty(forwarded.MsgId) && forwarded.Code is not null,
                _ => false,
            };
            if (!valid)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    [$"reports[{i}]"] = ["give either \"activity\": {\"activity\": \"Busy\" or \"Idle\"} or \"forwarded\": {\"msgId\", \"code\"}"],
                });
            }
        }

        var logger = loggerFactory.CreateLogger(typeof(KernelsApi));
        var owner = UserOf(user);
        foreach (var report in reports)
        {
            if (kernels.GetOrAdd(report.KernelId, owner) is not { } kernel)
            {
                // Someone else's kernel: nothing of this report applies to it.
                continue;
            }

            if (report.Activity is { } activity)
            {
                kernel.ReportActivity(activity.Activity);
            }
            else if (report.Forwarded is { } forwarded
                && (detector.Classify(forwarded.Code) is { NeedsGpu: true } detection ? detection.Rule : SliceDirective.Find(forwarded.Code) is not null ? "attach-directive" : null) is { } rule)
            {
                Log.ForwardedGpuCell(logger, report.KernelId, forwarded.MsgId, rule);
            }
        }

        return TypedResults.NoContent();
    }

    /// <summary>The detection rules, for the gateway to forward cells with no GPU evidence at all without asking (<see cref="ExecutionRuleSet"/>).</summary>
    internal static Ok<ExecutionRuleSet> Rules(IOptions<DetectionOptions> detection) =>
        TypedResults.Ok(new ExecutionRuleSet(
            [.. detection.Value.Rules.Select(r => new ExecutionRule(r.Name, r.Pattern))],
            SliceDirective.LinePattern));

    /// <summary>
    /// Sets the slice the kernel's next attach asks for (the notebook's slice selector): a profile or a size; both
    /// null goes back to the default. Applies from the next attach; a slice held now is kept.
    /// </summary>
    internal static Results<Ok<SlicePreference>, ProblemHttpResult, ValidationProblem> SetSlicePreference(
        string kernelId,
        SlicePreference preference,
        KernelRegistry kernels,
        ILeaseStore store,
        IOptions<SchedulingOptions> scheduling,
        ClaimsPrincipal user,
        CancellationToken cancellationToken)
    {
        if (Invalid(kernelId) is { } invalid)
        {
            return invalid;
        }

        if (preference is null || (preference.Profile is not null && preference.MemoryMiB is not null))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["body"] = ["send {\"profile\": \"half\"} or {\"memoryMiB\": 20480} (one of them; both null for the default)"],
            });
        }

        if (preference.Profile is { } profile && scheduling.Value.Profile(profile) is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["profile"] = [SliceChoice.UnknownProfile(profile, scheduling.Value)] });
        }

        if (preference.MemoryMiB is < 256 or > 4L * 1024 * 1024)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["memoryMiB"] = ["give between 256 MiB and 4 TiB"] });
        }

        if (kernels.GetOrAdd(kernelId, UserOf(user)) is not { } kernel)
        {
            return NotFound(kernelId);
        }

        // Stored first: a choice the broker could not keep is not shown as made. It survives restarts and takeovers.
        var chosen = preference.Profile is null && preference.MemoryMiB is null ? null : preference;
        store.SetSlicePreference(kernelId, chosen);
        kernel.Preference = chosen;
        return TypedResults.Ok(preference);
    }

    private static bool WantsStream(HttpContext httpContext) =>
        httpContext.Request.GetTypedHeaders().Accept.Any(a => string.Equals(a.MediaType.Value, AttachMediaTypes.NdJson, StringComparison.OrdinalIgnoreCase));

    internal static Results<NoContent, ProblemHttpResult, ValidationProblem> Activity(
        string kernelId, KernelActivityReport report, KernelRegistry kernels, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (Invalid(kernelId) is { } invalid)
        {
            return invalid;
        }

        if (report is null || !Enum.IsDefined(report.Activity))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["activity"] = ["use \"Busy\" or \"Idle\""] });
        }

        if (kernels.GetOrAdd(kernelId, UserOf(user)) is not { } kernel)
        {
            return NotFound(kernelId);
        }

        kernel.ReportActivity(report.Activity);
        return TypedResults.NoContent();
    }

    internal static async Task<Results<Ok<KernelStatus>, ProblemHttpResult, ValidationProblem>> Release(
        string kernelId, RuntimeReleaseRequest? request, KernelRegistry kernels, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (Invalid(kernelId) is { } invalid)
        {
            return invalid;
        }

        if (kernels.Find(kernelId, UserOf(user)) is not { } kernel)
        {
            return NotFound(kernelId);
        }

        await kernel.ReleaseAsync(request?.Reason is { Length: > 0 } reason ? reason : "released on request", cancellationToken, request?.LeaseId);
        return TypedResults.Ok(kernel.Status);
    }

    /// <summary>
    /// The process shim's signal, sent by the agent of the node where a process of this session reached
    /// <c>cuInit</c>: authoritative, so it attaches whatever the detection rules said, on that node. When nothing is
    /// free the answer is Queued with the place and ETA (or Refused, when the request says not to wait); the agent asks
    /// again to keep the place, and a request nobody asks about for <see cref="SchedulingOptions.RuntimeQueueGrace"/>
    /// leaves the queue.
    /// </summary>
    internal static async Task<Results<Ok<RuntimeAttachDecision>, ForbidHttpResult, ValidationProblem>> RuntimeAttach(
        string kernelId,
        RuntimeAttachRequest request,
        KernelRegistry kernels,
        IOptions<BrokerOptions> options,
        IOptions<SchedulingOptions> scheduling,
        ClaimsPrincipal user,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        if (UserOf(user) != ServiceDefaults.Security.AttachClaims.ServiceUser)
        {
            return TypedResults.Forbid();
        }

        if (Invalid(kernelId) is { } invalid)
        {
            return invalid;
        }

        if (request is null || string.IsNullOrEmpty(request.NodeId) || request.Pid <= 0 || request.MemoryMiB is <= 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["body"] = ["send {\"nodeId\", \"pid\" (> 0), \"uid\", \"gid\", \"memoryMiB\" (> 0, or null for the default slice), \"wait\"}"],
            });
        }

        // A session the broker has not seen (a script, a kernel an IDE started) belongs to the user of the process's uid.
        var kernel = kernels.GetOrAddForService(kernelId, options.Value.OwnerForUid(request.Uid));
        if (kernel.Status.Attachment is { } held && held.NodeId != request.NodeId)
        {
            return TypedResults.Ok(new RuntimeAttachDecision(RuntimeAttachStatus.Refused, null, false, null, null,
                $"session {kernelId} holds a GPU on node {held.NodeId}, but process {request.Pid} runs on node {request.NodeId}; release it first (attach release) or run the process on {held.NodeId}"));
        }

        var logger = loggerFactory.CreateLogger(typeof(KernelsApi));
        Log.RuntimeAttachRequested(logger, kernelId, request.NodeId, request.Pid, request.Uid);
        kernel.ReportProcess(request.Pid);
        var group = scheduling.Value.GidGroups.TryGetValue(request.Gid.ToString(System.Globalization.CultureInfo.InvariantCulture), out var g) ? g : null;
        var (slice, error) = SliceChoice.For(null, request.MemoryMiB is null ? kernel.Preference : null, options.Value, scheduling.Value, request.NodeId, group);
        if (error is not null)
        {
            return TypedResults.Ok(new RuntimeAttachDecision(RuntimeAttachStatus.Refused, null, false, null, null, error));
        }

        slice = request.MemoryMiB is { } asked ? slice with { MemoryMiB = asked } : slice;
        // attach run --batch: the process waits behind every interactive request (the shim passed ATTACH_PRIORITY on).
        slice = request.Priority == AttachPriority.Batch ? slice with { Priority = PriorityClass.Batch } : slice;
        var queued = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        AttachOutcome outcome;
        using (kernel.Watch(progress =>
        {
            if (progress.Status.State == KernelState.Queued)
            {
                queued.TrySetResult();
            }
        }))
        {
            var attach = kernel.EnsureAttachedAsync(slice, "cuInit (process shim)", CancellationToken.None);
            if (kernel.Status.State == KernelState.Queued)
            {
                queued.TrySetResult();
            }

            await Task.WhenAny(attach, queued.Task).WaitAsync(cancellationToken);
            if (!attach.IsCompleted)
            {
                var status = kernel.Status;
                if (!request.Wait)
                {
                    await kernel.CancelQueuedAsync($"process {request.Pid} asked not to wait");
                    return TypedResults.Ok(new RuntimeAttachDecision(RuntimeAttachStatus.Refused, null, false, null, null,
                        $"no GPU on node {request.NodeId} has room now ({status.Reason}); the process asked not to wait"));
                }

                kernel.KeepQueuedFor(scheduling.Value.RuntimeQueueGrace);
                Log.RuntimeAttachQueued(logger, kernelId, request.NodeId, request.Pid, status.QueuePosition ?? 0);
                return TypedResults.Ok(new RuntimeAttachDecision(RuntimeAttachStatus.Queued, null, false, status.QueuePosition, status.EtaSeconds, null));
            }

            outcome = await attach;
        }

        return TypedResults.Ok(outcome.Attachment is { } attachment
            ? new RuntimeAttachDecision(RuntimeAttachStatus.Granted, attachment, outcome.NewlyAttached, null, null, null)
            : new RuntimeAttachDecision(RuntimeAttachStatus.Refused, null, false, null, null, outcome.Error));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> Forget(
        string kernelId, KernelRegistry kernels, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (Invalid(kernelId) is { } invalid)
        {
            return invalid;
        }

        return await kernels.RemoveAsync(kernelId, UserOf(user), cancellationToken)
            ? TypedResults.NoContent()
            : NotFound(kernelId);
    }

    internal static string UserOf(ClaimsPrincipal user) =>
        user.Identity?.Name ?? throw new InvalidOperationException("The fallback policy admits only authenticated callers.");

    private static ValidationProblem? Invalid(string kernelId) =>
        KernelIds.IsValid(kernelId)
            ? null
            : TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["kernelId"] = ["use the id Jupyter gave the kernel (letters, digits, '-', '_' or '.', at most 128)"],
            });

    private static ProblemHttpResult NotFound(string kernelId) =>
        TypedResults.Problem($"No kernel {kernelId} of yours is known to the broker.", statusCode: StatusCodes.Status404NotFound, title: "Kernel not found");
}
