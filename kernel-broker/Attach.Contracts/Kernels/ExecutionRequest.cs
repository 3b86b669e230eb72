namespace Attach.Contracts.Kernels;

/// <summary>Sent by the gateway for each <c>execute_request</c> before it reaches the kernel.</summary>
/// <param name="MsgId">The request's <c>header.msg_id</c>.</param>
/// <param name="Code">The cell's code.</param>
public sealed record ExecutionRequest(string MsgId, string Code);
