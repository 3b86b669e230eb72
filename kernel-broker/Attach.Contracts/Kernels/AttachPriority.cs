using System.Text.Json.Serialization;

namespace Attach.Contracts.Kernels;

/// <summary>Which queue a GPU request waits in at the broker: every interactive request is served before any batch one.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AttachPriority>))]
public enum AttachPriority
{
    /// <summary>A person waits for it (a notebook cell, a command run at a terminal): the default.</summary>
    Interactive,

    /// <summary>Nobody watches it (<c>attach run --batch</c>): it waits behind every interactive request.</summary>
    Batch,
}
