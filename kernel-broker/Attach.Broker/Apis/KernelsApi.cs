using System.Security.Claims;
using Attach.Broker.Detection;
using Attach.Broker.Kernels;
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
        var streaming = WantsStream(httpContext);
        if (!detection.NeedsGpu)
        {
            var cpu = new ExecutionDecision(false, detection.Rule, kernel.Status.Attachment, false, null);
            return streaming ? new ExecutionStream(kernel, default, detection.Rule, logger, cpu) : TypedResults.Ok(cpu);
        }

        var (slice, error) = SliceChoice.For(directive, kernel.Preference, options.Value, scheduling.Value);
        if (error is not null)
        {
            var refused = new ExecutionDecision(true, detection.Rule, null, false, error);
            return streaming ? new ExecutionStream(kernel, slice, detection.Rule, logger, refused) : TypedResults.Ok(refused);
        }

        if (streaming)
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
    /// Sets the slice the kernel's next attach asks for (the notebook's slice selector): a profile or a size; both
    /// null goes back to the default. Applies from the next attach; a slice held now is kept.
    /// </summary>
    internal static Results<Ok<SlicePreference>, ProblemHttpResult, ValidationProblem> SetSlicePreference(
        string kernelId, SlicePreference preference, KernelRegistry kernels, IOptions<SchedulingOptions> scheduling, ClaimsPrincipal user, CancellationToken cancellationToken)
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

        kernel.Preference = preference.Profile is null && preference.MemoryMiB is null ? null : preference;
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
