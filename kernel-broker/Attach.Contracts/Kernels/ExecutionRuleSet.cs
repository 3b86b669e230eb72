namespace Attach.Contracts.Kernels;

/// <summary>
/// The broker's GPU-evidence rules, as the gateway needs them to forward a cell that shows no evidence at all without
/// waiting for the broker (<c>GET /api/v1/detection/rules</c>). The broker owns the rules and stays the judge: it
/// matches each pattern (multiline, culture-invariant .NET regular expressions) against the cell after removing
/// <c>#</c> comments and blanking prose strings, and a <see cref="DirectivePattern"/> line asks for a GPU whatever the
/// rules say. Code with no <c>#</c> and no quote character is left unchanged by that preparation, so for such a cell
/// matching the raw code gives exactly the broker's answer; any other cell must be asked about.
/// </summary>
/// <param name="Rules">The rules, in the order the broker tries them.</param>
/// <param name="DirectivePattern">A slice directive line (<c>%attach gpu mem=20G</c>), matched multiline and ignoring case.</param>
public sealed record ExecutionRuleSet(IReadOnlyList<ExecutionRule> Rules, string DirectivePattern);

/// <summary>One rule of an <see cref="ExecutionRuleSet"/>.</summary>
/// <param name="Name">The rule's name (as a decision's <c>rule</c> gives it).</param>
/// <param name="Pattern">The .NET regular expression.</param>
public sealed record ExecutionRule(string Name, string Pattern);
