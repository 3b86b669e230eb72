using Attach.Contracts.Kernels;

namespace Attach.Contracts.Hubs;

/// <summary>What the broker's hub calls on its clients (the notebook extension, the badge, tests).</summary>
public interface IAttachHubClient
{
    /// <summary>A kernel the client subscribed to changed state.</summary>
    Task KernelStateChanged(KernelStateChanged change);
}
