using Attach.Agent.Containers;
using Attach.Contracts.Pool;
using Docker.DotNet;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Attach.Agent.Apis;

/// <summary>
/// Containers this node runs for leases: <c>/api/v1/containers</c>. Only containers labelled with this node are
/// listed or touched; an engine that does not answer is a 503 that says how to start it.
/// </summary>
internal static class ContainersApi
{
    private const int LogBufferBytes = 16 * 1024;

    public static RouteGroupBuilder MapContainersApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/containers").WithTags("Containers");
        api.MapGet("/", ListContainers).WithName("ListContainers");
        api.MapPost("/", RunContainer).WithName("RunContainer");
        api.MapGet("/{id}", GetContainer).WithName("GetContainer");
        api.MapGet("/{id}/logs", ContainerLogs).WithName("ContainerLogs");
        api.MapPost("/{id}/stop", StopContainer).WithName("StopContainer");
        api.MapDelete("/{id}", RemoveContainer).WithName("RemoveContainer");
        return api;
    }

    internal static async Task<Results<Ok<IReadOnlyList<ContainerInfo>>, ProblemHttpResult>> ListContainers(
        ContainerRunner runner, CancellationToken cancellationToken)
    {
        var result = await runner.ListAsync(cancellationToken);
        return result.Succeeded ? TypedResults.Ok(result.Value) : Problem(result.Failure, "list");
    }

    internal static async Task<Results<Created<ContainerInfo>, ValidationProblem, ProblemHttpResult>> RunContainer(
        ContainerRunRequest request, ContainerRunner runner, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(request, cancellationToken);
        if (result.Succeeded)
        {
            return TypedResults.Created($"/api/v1/containers/{result.Value.Id}", result.Value);
        }

        return result.FieldErrors is not null
            ? TypedResults.ValidationProblem(result.FieldErrors, detail: result.Failure.Detail, title: "The container request is invalid")
            : Problem(result.Failure, "run");
    }

    internal static async Task<Results<Ok<ContainerInfo>, ProblemHttpResult>> GetContainer(string id, ContainerRunner runner, CancellationToken cancellationToken)
    {
        var result = await runner.GetAsync(id, cancellationToken);
        return result.Succeeded ? TypedResults.Ok(result.Value) : Problem(result.Failure, "inspect");
    }

    internal static async Task<Results<Ok<ContainerInfo>, ProblemHttpResult>> StopContainer(string id, ContainerRunner runner, CancellationToken cancellationToken)
    {
        var result = await runner.StopAsync(id, cancellationToken);
        return result.Succeeded ? TypedResults.Ok(result.Value) : Problem(result.Failure, "stop");
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> RemoveContainer(string id, ContainerRunner runner, CancellationToken cancellationToken)
    {
        var result = await runner.RemoveAsync(id, cancellationToken);
        return result.Succeeded ? TypedResults.NoContent() : Problem(result.Failure, "remove");
    }

    /// <summary>
    /// The container's stdout and stderr as plain text, interleaved as they were written. With <c>follow=true</c>
    /// the response stays open and streams new output until the container exits or the client goes away.
    /// </summary>
    internal static async Task<Results<PushStreamHttpResult, ProblemHttpResult>> ContainerLogs(
        string id, ContainerRunner runner, CancellationToken cancellationToken, bool follow = false, string? tail = null)
    {
        var opened = await runner.OpenLogsAsync(id, follow, tail, cancellationToken);
        if (!opened.Succeeded)
        {
            return Problem(opened.Failure, "read the logs of");
        }

        var logs = opened.Value;
        return TypedResults.Stream(body => CopyLogsAsync(logs, body, cancellationToken), "text/plain; charset=utf-8");
    }

    private static async Task CopyLogsAsync(MultiplexedStream logs, Stream body, CancellationToken cancellationToken)
    {
        using (logs)
        {
            var buffer = new byte[LogBufferBytes];
            while (true)
            {
                var read = await logs.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
                if (read.EOF)
                {
                    return;
                }

                await body.WriteAsync(buffer.AsMemory(0, read.Count), cancellationToken);
                // Followers see each chunk as it comes, not when a buffer fills.
                await body.FlushAsync(cancellationToken);
            }
        }
    }

    private static ProblemHttpResult Problem(ContainerFailure failure, string operation) =>
        TypedResults.Problem(
            detail: failure.Detail,
            statusCode: failure.Kind switch
            {
                ContainerFailureKind.LeaseNotFound or ContainerFailureKind.ContainerNotFound => StatusCodes.Status404NotFound,
                ContainerFailureKind.InvalidRequest => StatusCodes.Status400BadRequest,
                ContainerFailureKind.Disabled or ContainerFailureKind.DockerUnavailable => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status502BadGateway,
            },
            title: failure.Kind switch
            {
                ContainerFailureKind.LeaseNotFound => "No such lease on this node",
                ContainerFailureKind.ContainerNotFound => "No such container",
                ContainerFailureKind.Disabled => "Containers are disabled on this node",
                ContainerFailureKind.DockerUnavailable => "The Docker engine is not reachable",
                ContainerFailureKind.InvalidRequest => "The container request is invalid",
                _ => $"The Docker engine could not {operation} the container",
            });
}
