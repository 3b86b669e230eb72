namespace Attach.Contracts.Kernels;

/// <summary>Media types the Attach services negotiate between themselves.</summary>
public static class AttachMediaTypes
{
    /// <summary>
    /// Newline-delimited JSON. Sent as <c>Accept</c> on <c>POST /api/v1/kernels/{id}/executions</c>, it asks the broker
    /// to stream <see cref="ExecutionUpdate"/> lines (queue position, ETA, resume) instead of one decision at the end.
    /// </summary>
    public const string NdJson = "application/x-ndjson";
}
