namespace Attach.Contracts.Hubs;

/// <summary>The hub's path and method names, shared by server and clients.</summary>
public static class AttachHubProtocol
{
    /// <summary>Where the hub is mapped, on the broker and (forwarded) on the gateway.</summary>
    public const string Path = "/hubs/attach";

    /// <summary>Server method: subscribe to one kernel; returns its current <c>KernelStatus</c>.</summary>
    public const string SubscribeKernel = "SubscribeKernel";

    /// <summary>Server method: stop receiving a kernel's events.</summary>
    public const string UnsubscribeKernel = "UnsubscribeKernel";

    /// <summary>Client method: a subscribed kernel changed state.</summary>
    public const string KernelStateChanged = nameof(IAttachHubClient.KernelStateChanged);
}
