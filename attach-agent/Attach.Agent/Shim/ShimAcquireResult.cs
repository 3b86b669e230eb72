using System.Diagnostics.CodeAnalysis;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;

namespace Attach.Agent.Shim;

/// <summary>A lease granted to a shim connection with the binding it uses, or why not.</summary>
internal sealed record ShimAcquireResult
{
    private ShimAcquireResult(BindingInfo? binding, AttachmentInfo? attachment, string? errorCode, string? error)
    {
        Binding = binding;
        Attachment = attachment;
        ErrorCode = errorCode;
        Error = error;
    }

    /// <summary>This node's binding of the lease: the GPU, the slice and the environment.</summary>
    public BindingInfo? Binding { get; }

    /// <summary>What the broker said about the lease.</summary>
    public AttachmentInfo? Attachment { get; }

    /// <summary>One of <see cref="ShimErrorCodes"/>, when refused.</summary>
    public string? ErrorCode { get; }

    /// <summary>Why not and what to do, when refused.</summary>
    public string? Error { get; }

    [MemberNotNullWhen(true, nameof(Binding), nameof(Attachment))]
    [MemberNotNullWhen(false, nameof(ErrorCode), nameof(Error))]
    public bool Granted => Binding is not null;

    public static ShimAcquireResult Grant(BindingInfo binding, AttachmentInfo attachment) => new(binding, attachment, null, null);

    public static ShimAcquireResult Refuse(string code, string error) => new(null, null, code, error);
}
