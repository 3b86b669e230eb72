using System.Security.Claims;
using Attach.Broker.Detection;
using Attach.Broker.Kernels;
using Attach.Broker.Pool;
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
    /// Classifies the cell; when it needs a GPU, answers only once the slice is bound (the gateway holds
    /// the cell until then) or the attach failed.
    /// </summary>
    internal static async Task<Results<Ok<ExecutionDecision>, ProblemHttpResult, ValidationProblem>> Execute(
        string kernelId,
        ExecutionRequest request,
        KernelRegistry kernels,
        GpuWorkDetector detector,
        IOptions<BrokerOptions> options,
        ClaimsPrincipal user,
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

        var detection = detector.Classify(request.Code);
        Log.Classified(loggerFactory.CreateLogger(typeof(KernelsApi)), kernelId, request.MsgId, detection.NeedsGpu ? "GPU work" : "CPU only", detection.Rule);
        if (!detection.NeedsGpu)
        {
            return TypedResults.Ok(new ExecutionDecision(false, detection.Rule, kernel.Status.Attachment, false, null));
        }

        var slice = new SliceRequest(options.Value.DefaultSliceMiB, options.Value.DefaultSliceComputePercent);
        var outcome = await kernel.EnsureAttachedAsync(slice, detection.Rule, cancellationToken);
        return TypedResults.Ok(new ExecutionDecision(true, detection.Rule, outcome.Attachment, outcome.NewlyAttached, outcome.Error));
    }

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
    /// <c>cuInit</c>: authoritative, so it attaches whatever the detection rules said, on that node.
    /// </summary>
    internal static async Task<Results<Ok<RuntimeAttachDecision>, ForbidHttpResult, ValidationProblem>> RuntimeAttach(
        string kernelId,
        RuntimeAttachRequest request,
        KernelRegistry kernels,
        IOptions<BrokerOptions> options,
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

        Log.RuntimeAttachRequested(loggerFactory.CreateLogger(typeof(KernelsApi)), kernelId, request.NodeId, request.Pid, request.Uid);
        var slice = new SliceRequest(request.MemoryMiB ?? options.Value.DefaultSliceMiB, options.Value.DefaultSliceComputePercent, request.NodeId);
        var outcome = await kernel.EnsureAttachedAsync(slice, "cuInit (process shim)", cancellationToken);
        return TypedResults.Ok(outcome.Attachment is { } attachment
            ? new RuntimeAttachDecision(RuntimeAttachStatus.Granted, attachment, outcome.NewlyAttached, null, null, null)
            // No queue yet (the scheduler issue adds it): with nothing free the request is refused, with the reason.
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
