using System.Text.Json.Serialization;

namespace Attach.Contracts.Kernels;

/// <summary>Where a <see cref="RuntimeAttachRequest"/> stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RuntimeAttachStatus>))]
public enum RuntimeAttachStatus
{
    /// <summary>A slice is bound on the requesting node; <see cref="RuntimeAttachDecision.Attachment"/> says which.</summary>
    Granted,

    /// <summary>Nothing is free yet; the request holds a place in the queue. Ask again to keep it.</summary>
    Queued,

    /// <summary>The broker will not grant the lease; <see cref="RuntimeAttachDecision.Error"/> says why.</summary>
    Refused,
}
