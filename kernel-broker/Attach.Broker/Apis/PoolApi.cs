using System.Security.Claims;
using Attach.Broker.Pool;
using Attach.Contracts.Pool;
using Attach.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Attach.Broker.Apis;

/// <summary><c>/api/v1/pool</c>: every node, GPU and slice. Other users' slices show their size, not who holds them.</summary>
internal static class PoolApi
{
    internal const string Hidden = "(another user)";

    public static IEndpointRouteBuilder MapPoolApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/pool", Get).WithTags("Pool");
        return app;
    }

    internal static Ok<PoolView> Get(NodeRegistry nodes, LeaseTable leases, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var name = KernelsApi.UserOf(user);
        var all = name == AttachClaims.ServiceUser;
        var byGpu = leases.Snapshot().ToLookup(l => (l.NodeId, l.Gpu.Index));
        var view = nodes.All().Select(n => new NodeView(
            n.Heartbeat.NodeId,
            n.Heartbeat.Backend,
            n.LastSeen,
            [.. n.Heartbeat.Gpus.Select(g =>
            {
                var onGpu = byGpu[(n.Heartbeat.NodeId, g.Index)].ToList();
                return new PoolGpuView(
                    g,
                    onGpu.Sum(l => l.MemoryMiB),
                    [.. onGpu.Select(l => all || l.Owner == name
                        ? new LeaseView(l.LeaseId, l.KernelId, l.Owner, l.MemoryMiB, l.ComputePercent, l.Since)
                        : new LeaseView(Hidden, Hidden, Hidden, l.MemoryMiB, l.ComputePercent, l.Since))]);
            })]));
        return TypedResults.Ok(new PoolView([.. view]));
    }
}
