using Attach.Agent.Suspend;
using Attach.Contracts.Pool;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Attach.Agent.Apis;

/// <summary>
/// Suspend to host and resume the process behind a binding: <c>/api/v1/bindings/{leaseId}/suspend</c> and
/// <c>/resume</c>. The broker is the only caller; the bodies are optional.
/// </summary>
internal static class SuspendApi
{
    public static RouteGroupBuilder MapSuspendApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/bindings").WithTags("Suspend");
        api.MapPost("/{leaseId}/suspend", Suspend).WithName("SuspendBinding");
        api.MapPost("/{leaseId}/resume", Resume).WithName("ResumeBinding");
        return api;
    }

    internal static async Task<Results<Ok<SuspendResumeResult>, ValidationProblem, ProblemHttpResult>> Suspend(
        string leaseId, SuspendRequest? request, BindingSuspender suspender, CancellationToken cancellationToken) =>
        ToHttp(await suspender.SuspendAsync(leaseId, request ?? new SuspendRequest(), cancellationToken).ConfigureAwait(false), "suspend");

    internal static async Task<Results<Ok<SuspendResumeResult>, ValidationProblem, ProblemHttpResult>> Resume(
        string leaseId, ResumeRequest? request, BindingSuspender suspender, CancellationToken cancellationToken) =>
        ToHttp(await suspender.ResumeAsync(leaseId, request ?? new ResumeRequest(), cancellationToken).ConfigureAwait(false), "resume");

    private static Results<Ok<SuspendResumeResult>, ValidationProblem, ProblemHttpResult> ToHttp(SuspendCommandResult result, string operation)
    {
        if (result.Succeeded)
        {
            return TypedResults.Ok(result.Result);
        }

        var failure = result.Failure;
        if (result.FieldErrors is not null)
        {
            return TypedResults.ValidationProblem(result.FieldErrors, detail: failure.Detail, title: $"The {operation} request is invalid");
        }

        return TypedResults.Problem(detail: failure.Detail, statusCode: StatusOf(failure.Kind), title: TitleOf(failure.Kind, operation));
    }

    private static int StatusOf(SuspendFailureKind kind) => kind switch
    {
        SuspendFailureKind.NotFound => StatusCodes.Status404NotFound,
        SuspendFailureKind.InvalidRequest => StatusCodes.Status400BadRequest,
        SuspendFailureKind.Timeout => StatusCodes.Status504GatewayTimeout,
        SuspendFailureKind.ToolMissing or SuspendFailureKind.DriverTooOld => StatusCodes.Status503ServiceUnavailable,
        SuspendFailureKind.ToolFailed => StatusCodes.Status500InternalServerError,
        _ => StatusCodes.Status409Conflict,
    };

    private static string TitleOf(SuspendFailureKind kind, string operation) => kind switch
    {
        SuspendFailureKind.NotFound => "No such binding",
        SuspendFailureKind.NoProcess => $"No process to {operation}",
        SuspendFailureKind.NotCudaProcess => "The process has no CUDA state",
        SuspendFailureKind.WrongState => $"The process cannot be {(operation == "suspend" ? "suspended" : "resumed")} in its present state",
        SuspendFailureKind.Busy => "Another suspend or resume is in progress",
        SuspendFailureKind.InvalidTarget => "The process cannot be restored onto that GPU",
        SuspendFailureKind.OutOfMemory => "Not enough free memory",
        SuspendFailureKind.Timeout => $"The {operation} timed out",
        SuspendFailureKind.ToolMissing => "cuda-checkpoint is not installed",
        SuspendFailureKind.DriverTooOld => "The NVIDIA driver is too old",
        SuspendFailureKind.NotSupported => "The driver cannot checkpoint this process",
        _ => $"The {operation} failed",
    };
}
