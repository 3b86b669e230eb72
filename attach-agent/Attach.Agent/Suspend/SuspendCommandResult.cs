using System.Diagnostics.CodeAnalysis;
using Attach.Contracts.Pool;

namespace Attach.Agent.Suspend;

/// <summary>What a suspend or resume of a lease's process did, or why it was refused or failed.</summary>
internal sealed record SuspendCommandResult
{
    private SuspendCommandResult(SuspendResumeResult? result, SuspendFailure? failure, IReadOnlyDictionary<string, string[]>? fieldErrors)
    {
        Result = result;
        Failure = failure;
        FieldErrors = fieldErrors;
    }

    /// <summary>What happened.</summary>
    public SuspendResumeResult? Result { get; }

    /// <summary>Why it did not happen.</summary>
    public SuspendFailure? Failure { get; }

    /// <summary>For an invalid request: the messages for each request field at fault (camelCase, as in JSON).</summary>
    public IReadOnlyDictionary<string, string[]>? FieldErrors { get; }

    [MemberNotNullWhen(true, nameof(Result))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool Succeeded => Failure is null;

    public static SuspendCommandResult Success(SuspendResumeResult result) => new(result, null, null);

    public static SuspendCommandResult Failed(SuspendFailure failure) => new(null, failure, null);

    public static SuspendCommandResult Invalid(string field, string message) =>
        new(null, new SuspendFailure(SuspendFailureKind.InvalidRequest, message), new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [message] });
}
