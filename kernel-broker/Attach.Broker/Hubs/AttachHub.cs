using Attach.Broker.Kernels;
using Attach.Contracts.Hubs;
using Attach.Contracts.Kernels;
using Microsoft.AspNetCore.SignalR;

namespace Attach.Broker.Hubs;

/// <summary>
/// Live kernel state for the notebook extension and the badge. A client subscribes to one kernel at a
/// time; groups are named by kernel *and* user, so nobody can receive another user's events, even by
/// guessing a kernel id.
/// </summary>
internal sealed class AttachHub(KernelRegistry kernels, TimeProvider timeProvider) : Hub<IAttachHubClient>
{
    public async Task<KernelStatus> SubscribeKernel(string kernelId)
    {
        KernelIds.ThrowIfInvalid(kernelId);
        var user = Context.User?.Identity?.Name ?? throw new HubException("not authenticated");
        // Another user's kernel looks exactly like an unknown one: detached, and no events ever arrive.
        var status = kernels.Find(kernelId, user)?.Status;
        await Groups.AddToGroupAsync(Context.ConnectionId, GroupFor(kernelId, user));
        return status ?? new KernelStatus(kernelId, user, KernelState.Detached, false, null, timeProvider.GetUtcNow(), null, "no GPU work yet");
    }

    public Task UnsubscribeKernel(string kernelId)
    {
        KernelIds.ThrowIfInvalid(kernelId);
        var user = Context.User?.Identity?.Name ?? throw new HubException("not authenticated");
        return Groups.RemoveFromGroupAsync(Context.ConnectionId, GroupFor(kernelId, user));
    }

    internal static string GroupFor(string kernelId, string user) => $"kernel:{kernelId}:user:{user}";
}
