using Microsoft.AspNetCore.Mvc;

namespace Attach.Agent.Apis;

/// <summary>
/// Fills in <see cref="ProblemDetails.Detail"/> for the bare 400 and 401 responses the framework produces (a body
/// that is not JSON, a missing query parameter, no internal key), so every error says what to do.
/// </summary>
internal static class BadRequestDetails
{
    public static void Complete(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var problem = context.ProblemDetails;
        if (problem.Detail is not null)
        {
            return;
        }

        var request = context.HttpContext.Request;
        problem.Detail = problem.Status switch
        {
            StatusCodes.Status401Unauthorized =>
                "Every agent route requires 'Authorization: Bearer <key>' with the key configured as Attach:InternalKey on the agent and the broker.",
            StatusCodes.Status400BadRequest when HttpMethods.IsPost(request.Method) && request.Path.StartsWithSegments("/api/v1/containers", StringComparison.Ordinal) =>
                "The body could not be read as a container request. Send JSON with Content-Type application/json: " +
                "{\"leaseId\": string, \"image\": string, \"command\": [string], \"memoryMiB\": integer?, \"cpus\": number?, \"env\": {string: string}?}.",
            StatusCodes.Status400BadRequest when HttpMethods.IsPost(request.Method) && (request.Path.Value ?? "").EndsWith("/suspend", StringComparison.Ordinal) =>
                "The body could not be read as a suspend request. Send JSON {\"pid\": integer?} or no body.",
            StatusCodes.Status400BadRequest when HttpMethods.IsPost(request.Method) && (request.Path.Value ?? "").EndsWith("/resume", StringComparison.Ordinal) =>
                "The body could not be read as a resume request. Send JSON {\"pid\": integer?, \"targetGpuIndex\": integer?} or no body.",
            StatusCodes.Status400BadRequest when HttpMethods.IsPost(request.Method) =>
                "The body could not be read as a bind request. Send JSON with Content-Type application/json: " +
                "{\"leaseId\": string, \"epoch\": integer, \"kernelId\": string, \"gpuIndex\": integer, \"memoryMiB\": integer, \"computePercent\": 1-100}.",
            StatusCodes.Status400BadRequest when HttpMethods.IsDelete(request.Method) =>
                "An unbind needs the lease's epoch as an integer query parameter: DELETE /api/v1/bindings/{leaseId}?epoch=N.",
            StatusCodes.Status400BadRequest =>
                "The request could not be read; check its parameters and body.",
            _ => null,
        };
    }
}
