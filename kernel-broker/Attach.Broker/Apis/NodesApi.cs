using System.Security.Claims;
using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Contracts.Pool;
using Attach.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Attach.Broker.Apis;

/// <summary><c>/api/v1/nodes</c>: agents register and heartbeat here. Only services may call it, never a user through the gateway.</summary>
internal static class NodesApi
{
    public static IEndpointRouteBuilder MapNodesApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/nodes/{nodeId}/heartbeat", Heartbeat).WithTags("Nodes");
        return app;
    }

    internal static Results<NoContent, ForbidHttpResult, ValidationProblem> Heartbeat(
        string nodeId,
        NodeHeartbeat heartbeat,
        NodeRegistry nodes,
        LeaseTable leases,
        KernelRegistry kernels,
        AgentClient agents,
        ClaimsPrincipal user,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        if (user.Identity?.Name != AttachClaims.ServiceUser)
        {
            return TypedResults.Forbid();
        }

        if (heartbeat is null || heartbeat.NodeId != nodeId || heartbeat.Gpus is null || heartbeat.Bindings is null || heartbeat.Backend is null
            || heartbeat.AgentUrl is not { IsAbsoluteUri: true })
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["heartbeat"] = ["send a NodeHeartbeat whose nodeId matches the path, with an absolute agentUrl, a backend, gpus and bindings"],
            });
        }

        var logger = loggerFactory.CreateLogger(typeof(NodesApi));
        if (nodes.Record(heartbeat))
        {
            Log.NodeRegistered(logger, heartbeat.NodeId, heartbeat.Gpus.Count, heartbeat.Backend.Name, heartbeat.Backend.Reason, heartbeat.AgentUrl);
            _ = agents.WarmUpAsync(heartbeat.AgentUrl);
        }

        var reconciled = leases.Reconcile(heartbeat);
        var toUnbind = new List<Lease>(reconciled.ToUnbind);
        foreach (var lease in reconciled.Adopted)
        {
            // A live binding from before a broker restart: its kernel gets it back, and the idle policy decides.
            if (kernels.Adopt(lease) is { } refusal)
            {
                Log.AdoptionRefused(logger, lease.NodeId, lease.LeaseId, lease.KernelId, refusal);
                leases.SetStatus(lease.LeaseId, LeaseStatus.Releasing);
                toUnbind.Add(lease);
            }
            else
            {
                Log.BindingAdopted(logger, lease.NodeId, lease.LeaseId, lease.Epoch, lease.KernelId, lease.Owner, lease.Gpu.Index, lease.MemoryMiB);
            }
        }

        // A GPU that works keeps its slices from the idle policy, whether or not the gateway saw a cell run.
        kernels.KeepWorkingGpusHeld(heartbeat, logger);

        foreach (var lease in toUnbind)
        {
            // Off the request path: the agent is waiting for this heartbeat's answer.
            _ = UnbindAsync(agents, leases, lease, logger);
        }

        return TypedResults.NoContent();
    }

    private static async Task UnbindAsync(AgentClient agents, LeaseTable leases, Lease lease, ILogger logger)
    {
        try
        {
            await agents.UnbindSliceAsync(lease.AgentUrl, lease.LeaseId, lease.Epoch, CancellationToken.None);
            leases.Remove(lease.LeaseId);
        }
        catch (AgentCallException ex) when (ex.NotFound)
        {
            leases.Remove(lease.LeaseId);
        }
        catch (AgentCallException ex)
        {
            Log.ReconcileUnbindFailed(logger, lease.NodeId, lease.LeaseId, ex.Message);
        }
    }
}
