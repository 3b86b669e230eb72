using System.Diagnostics.CodeAnalysis;

namespace Attach.Agent.Containers;

/// <summary>What a container operation produced, or why it did not happen.</summary>
internal sealed record ContainerResult<T>
{
    private ContainerResult(T? value, ContainerFailure? failure, IReadOnlyDictionary<string, string[]>? fieldErrors)
    {
        Value = value;
        Failure = failure;
        FieldErrors = fieldErrors;
    }

    /// <summary>The result.</summary>
    public T? Value { get; }

    /// <summary>Why there is none.</summary>
    public ContainerFailure? Failure { get; }

    /// <summary>For an invalid request: the messages for each request field at fault (camelCase, as in JSON).</summary>
    public IReadOnlyDictionary<string, string[]>? FieldErrors { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool Succeeded => Failure is null;

    public static ContainerResult<T> Success(T value) => new(value, null, null);

    public static ContainerResult<T> Failed(ContainerFailure failure) => new(default, failure, null);

    public static ContainerResult<T> Failed(ContainerFailureKind kind, string detail) => new(default, new ContainerFailure(kind, detail), null);

    public static ContainerResult<T> Invalid(IReadOnlyDictionary<string, string[]> fieldErrors) =>
        new(default, new ContainerFailure(ContainerFailureKind.InvalidRequest, string.Join(" ", fieldErrors.Values.SelectMany(messages => messages))), fieldErrors);
}
