using System.Text.Json.Serialization;

namespace Attach.Contracts.Kernels;

/// <summary>Busy or idle, as the kernel reported on iopub for an <c>execute_request</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<KernelActivity>))]
public enum KernelActivity
{
    Busy,
    Idle,
}

/// <summary>Sent by the gateway when a kernel goes busy or idle for an <c>execute_request</c>.</summary>
/// <param name="Activity">Busy or idle.</param>
/// <param name="ParentMsgId">The <c>execute_request</c> the status belongs to.</param>
public sealed record KernelActivityReport(KernelActivity Activity, string? ParentMsgId);
