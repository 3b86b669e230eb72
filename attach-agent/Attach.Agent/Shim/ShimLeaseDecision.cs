using System.Diagnostics.CodeAnalysis;
using Attach.Contracts.Kernels;

namespace Attach.Agent.Shim;

/// <summary>The broker's final answer to a <see cref="ShimLeaseRequest"/>: a lease, or why not.</summary>
internal sealed record ShimLeaseDecision
{
    private ShimLeaseDecision(AttachmentInfo? attachment, bool newlyAttached, string? errorCode, string? error)
    {
        Attachment = attachment;
        NewlyAttached = newlyAttached;
        ErrorCode = errorCode;
        Error = error;
    }

    /// <summary>The slice the broker bound, when granted.</summary>
    public AttachmentInfo? Attachment { get; }

    /// <summary>True when this request caused the attach; false when the session already held the lease.</summary>
    public bool NewlyAttached { get; }

    /// <summary>One of <see cref="ShimErrorCodes"/>'s lease codes, when refused.</summary>
    public string? ErrorCode { get; }

    /// <summary>Why not and what to do, for people, when refused.</summary>
    public string? Error { get; }

    [MemberNotNullWhen(true, nameof(Attachment))]
    [MemberNotNullWhen(false, nameof(ErrorCode), nameof(Error))]
    public bool Granted => Attachment is not null;

    public static ShimLeaseDecision Grant(AttachmentInfo attachment, bool newlyAttached)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        return new(attachment, newlyAttached, null, null);
    }

    public static ShimLeaseDecision Refuse(string code, string error) => new(null, false, code, error);
}
