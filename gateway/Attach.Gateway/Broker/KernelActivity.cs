using Attach.Contracts.Kernels;

namespace Attach.Gateway.Broker;

/// <summary>A busy/idle observation waiting to be reported to the broker.</summary>
internal readonly record struct ObservedActivity(string KernelId, string User, KernelActivityReport Report);

/// <summary>A cell sent to the kernel without waiting for the broker (no GPU evidence), to be told to the broker.</summary>
internal readonly record struct ForwardedExecution(string KernelId, string User, ExecutionRequest Request);
