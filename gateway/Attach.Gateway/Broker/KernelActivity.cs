using Attach.Contracts.Kernels;

namespace Attach.Gateway.Broker;

/// <summary>A busy/idle observation waiting to be reported to the broker.</summary>
internal readonly record struct ObservedActivity(string KernelId, string User, KernelActivityReport Report);
