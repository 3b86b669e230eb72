using System.Diagnostics.CodeAnalysis;
using Attach.Contracts.Pool;

namespace Attach.Agent.Slices;

/// <summary>The binding a ledger operation produced or removed, or why it was refused.</summary>
internal sealed record LedgerResult
{
    private LedgerResult(BindingInfo? binding, LedgerRefusal? refusal)
    {
        Binding = binding;
        Refusal = refusal;
    }

    /// <summary>The binding that is now in place (bind) or was removed (unbind).</summary>
    public BindingInfo? Binding { get; }

    /// <summary>Why the operation was refused.</summary>
    public LedgerRefusal? Refusal { get; }

    [MemberNotNullWhen(true, nameof(Binding))]
    [MemberNotNullWhen(false, nameof(Refusal))]
    public bool Succeeded => Refusal is null;

    public static LedgerResult Success(BindingInfo binding) => new(binding, null);

    public static LedgerResult Refused(LedgerRefusalKind kind, string detail) => new(null, new LedgerRefusal(kind, detail));

    public static LedgerResult Invalid(LedgerRefusalKind kind, IReadOnlyDictionary<string, string[]> fieldErrors) =>
        new(null, new LedgerRefusal(kind, string.Join(" ", fieldErrors.Values.SelectMany(messages => messages)), fieldErrors));
}
