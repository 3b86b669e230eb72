namespace Attach.Agent.Slices;

/// <summary>A refused bind or unbind.</summary>
/// <param name="Kind">Why.</param>
/// <param name="Detail">What was wrong and what to do about it, for people.</param>
/// <param name="FieldErrors">For an invalid request: the messages for each request field at fault (camelCase, as in JSON).</param>
internal sealed record LedgerRefusal(LedgerRefusalKind Kind, string Detail, IReadOnlyDictionary<string, string[]>? FieldErrors = null);
