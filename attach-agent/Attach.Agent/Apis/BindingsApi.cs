using Attach.Agent.Slices;
using Attach.Contracts.Pool;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Attach.Agent.Apis;

/// <summary>Slices bound on this node: <c>/api/v1/bindings</c>. The broker is the only caller.</summary>
internal static class BindingsApi
{
    public static RouteGroupBuilder MapBindingsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/bindings").WithTags("Bindings");
        api.MapGet("/", ListBindings).WithName("ListBindings");
        api.MapPost("/", Bind).WithName("Bind");
        api.MapDelete("/{leaseId}", Unbind).WithName("Unbind");
        return api;
    }

    internal static Ok<IReadOnlyList<BindingInfo>> ListBindings(SliceLedger ledger, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return TypedResults.Ok(ledger.Snapshot());
    }

    internal static Results<Ok<BindingInfo>, ValidationProblem, ProblemHttpResult> Bind(BindRequest request, SliceLedger ledger, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = ledger.Bind(request);
        if (result.Succeeded)
        {
            return TypedResults.Ok(result.Binding);
        }

        var refusal = result.Refusal;
        if (refusal.FieldErrors is not null)
        {
            return TypedResults.ValidationProblem(refusal.FieldErrors, detail: refusal.Detail, title: TitleOf(refusal.Kind));
        }

        return Problem(refusal);
    }

    internal static Results<NoContent, ProblemHttpResult> Unbind(string leaseId, long epoch, SliceLedger ledger, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = ledger.Unbind(leaseId, epoch);
        return result.Succeeded ? TypedResults.NoContent() : Problem(result.Refusal);
    }

    private static ProblemHttpResult Problem(LedgerRefusal refusal) =>
        TypedResults.Problem(
            detail: refusal.Detail,
            statusCode: refusal.Kind switch
            {
                LedgerRefusalKind.NotFound => StatusCodes.Status404NotFound,
                LedgerRefusalKind.InvalidRequest or LedgerRefusalKind.UnknownGpu => StatusCodes.Status400BadRequest,
                _ => StatusCodes.Status409Conflict,
            },
            title: TitleOf(refusal.Kind));

    private static string TitleOf(LedgerRefusalKind kind) => kind switch
    {
        LedgerRefusalKind.InvalidRequest => "The bind request is invalid",
        LedgerRefusalKind.UnknownGpu => "No such GPU on this node",
        LedgerRefusalKind.InsufficientMemory => "Not enough free memory on the GPU",
        LedgerRefusalKind.InsufficientCompute => "Not enough free compute on the GPU",
        LedgerRefusalKind.StaleEpoch => "Stale lease epoch",
        LedgerRefusalKind.LeaseConflict => "The lease is bound differently",
        LedgerRefusalKind.NotFound => "No such binding",
        _ => "The request was refused",
    };
}
